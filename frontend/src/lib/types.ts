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
	artifacts: { kind: string; uri: string; size_bytes: number; sha256: string }[];
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

// ---- Job events (contracts/events/*.py), as carried in the envelope's `event` ----

export interface Actor {
	kind: 'api_key' | 'cli' | 'system';
	id: string;
}

export interface ComponentEnergy {
	energy_kwh: number;
	power_w: number;
	method: string;
	detail: string | null;
}

export type JobEvent =
	| { type: 'JobRequested'; name: string | null; config: TrainingConfig }
	| { type: 'JobQueued'; priority: number; estimated_memory_bytes: number | null }
	| {
			type: 'JobStarted';
			worker_id: string;
			attempt: number;
			device: string;
			resumed_from_step: number | null;
			max_steps: number;
	  }
	| {
			type: 'TrainingProgressed';
			step: number;
			max_steps: number | null;
			epoch: number;
			loss: number;
			learning_rate: number;
			grad_norm: number | null;
			tokens_per_second: number | null;
			tokens_seen: number | null;
			attempt: number | null;
	  }
	| {
			type: 'EpochCompleted';
			epoch: number;
			step: number;
			train_loss: number | null;
			eval_loss: number | null;
	  }
	| { type: 'CheckpointSaved'; step: number; uri: string; size_bytes: number; sha256: string | null }
	| {
			type: 'JobCompleted';
			steps: number;
			final_loss: number | null;
			eval_loss: number | null;
			tokens_trained: number;
			train_seconds: number;
	  }
	| { type: 'JobFailed'; category: string; message: string; step: number | null }
	| { type: 'JobCancelRequested'; reason: string | null }
	| { type: 'JobCancelled'; step: number | null }
	| { type: 'ModelExported'; base_model: string; dataset_id: string; artifacts: ArtifactRef[] }
	| {
			type: 'EmissionsMeasured';
			sequence: number;
			final: boolean;
			duration_seconds: number;
			cpu: ComponentEnergy;
			gpu: ComponentEnergy;
			ram: ComponentEnergy;
			energy_kwh: number;
			emissions_g: number;
			carbon_intensity_g_per_kwh: number;
			intensity_source: string;
			intensity_is_fallback: boolean;
			country_iso_code: string | null;
			region: string | null;
			pue: number;
	  };

/** An event type this dashboard does not know: shown in the history as it is. */
export interface OtherEvent {
	type: string;
	[field: string]: unknown;
}

export interface Envelope {
	event_id: string;
	occurred_at: string;
	producer: string;
	aggregate_type: string;
	aggregate_id: string;
	aggregate_version?: number | null;
	correlation_id: string;
	causation_id?: string | null;
	actor: Actor;
	event: JobEvent | OtherEvent;
}
