// Shapes of the greentune HTTP API: aliases of the types scripts/generate-types makes from the API's
// OpenAPI schema (generated/api.d.ts, from generated/openapi.json). Hand-written below, and marked
// so, is only what the schema does not describe: constants, the OpenAI model list (/v1/models
// answers an untyped object) and narrowings of a generated type to what the dashboard sends.

import type { components } from './generated/api';

type Schemas = components['schemas'];

/** A job's lifecycle state, as the API answers it (JobDetail.status, JobCreated.status). */
export type JobStatus = Schemas['JobDetail']['status'];

// Hand-written: client-side groupings of the statuses.
export const ACTIVE_STATUSES: readonly JobStatus[] = ['PENDING', 'QUEUED', 'RUNNING'];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** One problem of a refusal: the field, line or file at fault and what to do about it. */
export type Problem = Schemas['ProblemItem'];

/** An error answer of /api/v1 (RFC 9457 problem details, application/problem+json). */
export type ProblemDetails = Schemas['ProblemDetails'];

/** An error answer of /v1 (OpenAI's shape). */
export type ErrorBody = Schemas['OpenAIError'];

/** GET /api/v1/jobs: one page of the jobs, newest first. */
export type JobsPage = Schemas['JobsPage'];
export type JobRow = Schemas['JobRow'];
export type JobFailure = Schemas['JobFailure'];

/** GET /api/v1/datasets: one page of the registered datasets. */
export type DatasetsPage = Schemas['DatasetsPage'];
export type DatasetRow = Schemas['DatasetRow'];

/** GET /api/v1/base-models. */
export type BaseModels = Schemas['BaseModels'];
export type BaseModelRow = Schemas['BaseModelRow'];

/** GET /api/v1/models: every registered version of a fine-tuned model, with its lineage. */
export type ModelVersions = Schemas['ModelVersions'];
export type ModelVersionRow = Schemas['ModelVersionRow'];

/** POST /api/v1/models/{name}/versions/{version}/serve: `model` is the id to chat with on /v1. */
export type ModelServed = Schemas['ModelServed'];

/** POST /api/v1/datasets: the stored file and its validation outcome. */
export type DatasetRegistration = Schemas['DatasetRegistration'];
export type RowError = Schemas['RowError'];
export type TokenStats = Schemas['TokenStats'];

/** A job's complete configuration, as the API answers it (JobDetail.config): every field is set. */
export type TrainingConfig = Schemas['TrainingConfig'];
export type LoraSettings = Schemas['LoraSettings'];

/** Hand-written narrowing: POST /api/v1/jobs's body, a TrainingConfig whose fields with a default
 * may be left out (the server fills them in); only base model and dataset are required. */
export type TrainingConfigRequest = Pick<TrainingConfig, 'base_model' | 'dataset_id'> &
	Partial<Omit<TrainingConfig, 'base_model' | 'dataset_id' | 'lora'>> & { lora?: Partial<LoraSettings> };

export type JobCreated = Schemas['JobCreated'];
export type JobDetail = Schemas['JobDetail'];
export type ArtifactRef = Schemas['ArtifactRef'];
export type CheckpointRef = Schemas['Checkpoint'];

/** GET /api/v1/jobs/{id}/carbon: the job's footprint (services/carbon/reports.py). */
export type CarbonReport = Schemas['JobFootprint'];
export type HowMeasured = Schemas['HowMeasured'];
export type IntensityUsed = Schemas['IntensityUsed'];
/** A run that ended without its final measurement: its attempt(s), seconds (null: unknown) and a note. */
export type UnmeasuredGap = Schemas['UnmeasuredGap'];

/** Hand-written: one entry of GET /v1/models, whose answer the schema leaves untyped. */
export interface OpenAIModel {
	id: string;
	object: 'model';
	owned_by: string;
	created?: number;
}

/** One turn of POST /v1/chat/completions's `messages`. */
export type ChatTurn = Schemas['ChatTurn'];

/** Hand-written narrowing of ChatTurn: the roles and plain-text content the chat uses. */
export interface ChatMessage extends ChatTurn {
	role: 'system' | 'user' | 'assistant';
	content: string;
}
