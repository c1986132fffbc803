// Shapes of the greentune HTTP API (services/api, services/trainer, services/carbon, contracts/).

export type JobStatus = 'PENDING' | 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

export const ACTIVE_STATUSES: readonly JobStatus[] = ['PENDING', 'QUEUED', 'RUNNING'];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export interface Problem {
	message: string;
	line?: number | null;
	field?: string | null;
	file?: string | null;
}

export interface ErrorBody {
	error: {
		message: string;
		type?: string;
		code?: string | null;
		param?: string | null;
		problems?: Problem[];
	};
}

export interface JobRow {
	job_id: string;
	name: string | null;
	status: JobStatus;
	base_model: string;
	dataset_id: string;
	created_at: string;
	updated_at: string;
	step: number | null;
	max_steps: number | null;
	epoch: number | null;
	last_loss: number | null;
	tokens_per_second: number | null;
	energy_kwh: number | null;
	emissions_g: number | null;
	failure: { category: string; message: string } | null;
}

export interface DatasetRow {
	dataset_id: string;
	name: string;
	file_format: string;
	size_bytes: number;
	registered_at: string;
	valid: boolean | null;
	rows: number | null;
	data_format: string | null;
}

export interface BaseModelRow {
	name: string;
	architecture: string;
	parameters: number;
	size_bytes: number;
	registered_at: string;
	uri: string;
	sha256: string;
}

/** GET /api/v1/models: one registered version of a fine-tuned model, with its lineage. */
export interface ModelVersionRow {
	name: string;
	version: number;
	job_id: string;
	base_model: string;
	dataset_id: string;
	registered_at: string;
	artifacts: ArtifactRef[];
	status: 'active' | 'deprecated' | 'deleted';
	deleted_at: string | null;
	purged: boolean;
	verified: boolean | null;
	aliases: string[];
	final_loss: number | null;
	energy_kwh: number | null;
	emissions_g: number | null;
}

/** POST /api/v1/models/{name}/versions/{version}/serve: `model` is the id to chat with on /v1. */
export interface ModelServed {
	model: string;
	name: string;
	version: number;
}

export interface RowError {
	line: number;
	field: string | null;
	message: string;
}

export interface TokenStats {
	min: number;
	mean: number;
	p95: number;
	max: number;
	total: number;
	truncated_rows: number;
	max_seq_length: number;
}

export interface DatasetRegistration {
	dataset_id: string;
	already_registered: boolean;
	name: string;
	uri: string;
	sha256: string;
	size_bytes: number;
	file_format: string;
	valid: boolean;
	data_format: string | null;
	rows: number;
	errors: RowError[];
	tokenizer: string | null;
	token_stats: TokenStats | null;
	sample: string | null;
}

export interface LoraSettings {
	rank: number;
	alpha: number;
	dropout?: number;
	target_modules?: string[];
}

/** contracts/training_config.py: the fields the form sets; the server fills in the rest. */
export interface TrainingConfig {
	base_model: string;
	dataset_id: string;
	method: 'lora' | 'qlora' | 'full';
	lora: LoraSettings;
	learning_rate: number;
	epochs: number | null;
	max_steps?: number | null;
	batch_size: number;
	max_seq_length: number;
	warmup_steps?: number;
	[field: string]: unknown;
}

export interface JobCreated {
	job_id: string;
	status: JobStatus;
	estimated_memory_bytes: number | null;
}

export interface ArtifactRef {
	kind: string;
	uri: string;
	size_bytes: number;
	sha256: string;
}

export interface JobDetail {
	job_id: string;
	name: string | null;
	status: JobStatus;
	attempts: number;
	step: number;
	last_loss: number | null;
	cancel_requested: boolean;
	last_checkpoint: { step: number; uri: string } | null;
	exports: ArtifactRef[];
	config: TrainingConfig;
}

export interface IntensityUsed {
	g_per_kwh: number;
	source: string;
	is_fallback: boolean;
	country_iso_code: string | null;
	region: string | null;
	pue: number;
}

/** A run that ended without its final measurement: its attempt(s), seconds (null: unknown) and a note. */
export interface UnmeasuredGap {
	attempt: number | null;
	last_attempt: number | null;
	after_sequence: number | null;
	seconds: number | null;
	note: string;
}

/** services/carbon/reports.py CarbonReports.job: the job's row plus its interval totals. */
export interface CarbonReport {
	job_id: string;
	name?: string | null;
	status?: string | null;
	intervals: number;
	energy_kwh: number;
	emissions_g: number;
	duration_s: number;
	cpu_kwh: number;
	gpu_kwh: number;
	ram_kwh: number;
	last_sequence: number | null;
	final_seen: boolean;
	intensity_fallback: boolean;
	how_measured: {
		cpu: string[];
		gpu: string[];
		ram: string[];
		intensity: IntensityUsed[];
	};
	missing_sequences: number[];
	/** Time killed attempts left unmeasured (services/carbon/gaps.py); in no total. */
	unmeasured?: UnmeasuredGap[];
	unmeasured_seconds?: number;
	g_per_1k_trained_tokens: number | null;
	kwh_per_1k_trained_tokens: number | null;
	forecast_kwh?: number | null;
	forecast_g?: number | null;
	[field: string]: unknown;
}

export interface OpenAIModel {
	id: string;
	object: 'model';
	owned_by: string;
	created?: number;
}

export interface ChatMessage {
	role: 'system' | 'user' | 'assistant';
	content: string;
}
