// Typed client of the greentune HTTP API (same origin). Every failure is thrown as an ApiError.

import { ApiError, asApiError, errorFromResponse } from './apiError';
import { authHeaders } from './apiKey.svelte';
import { readSseStream } from './sse';
import type {
	BaseModelRow,
	BaseModels,
	CarbonReport,
	ChatMessage,
	DatasetRegistration,
	DatasetRow,
	DatasetsPage,
	JobCreated,
	JobDetail,
	JobRow,
	JobsPage,
	ModelServed,
	ModelVersionRow,
	ModelVersions,
	OpenAIModel,
	TrainingConfigRequest
} from './types';

export { ApiError } from './apiError';

async function send(path: string, init: RequestInit = {}): Promise<Response> {
	let response: Response;
	try {
		response = await fetch(path, { ...init, headers: { ...authHeaders(), ...init.headers } });
	} catch (error) {
		if (error instanceof DOMException && error.name === 'AbortError') throw error;
		throw asApiError(error);
	}
	if (!response.ok) throw await errorFromResponse(response);
	return response;
}

async function getJson<T>(path: string): Promise<T> {
	const response = await send(path, { headers: { Accept: 'application/json' } });
	return (await response.json()) as T;
}

async function postJson<T>(path: string, body: unknown): Promise<T> {
	const response = await send(path, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
		body: JSON.stringify(body)
	});
	const text = await response.text();
	return (text ? JSON.parse(text) : null) as T;
}

const jobPath = (jobId: string) => `/api/v1/jobs/${encodeURIComponent(jobId)}`;

/** The first page of the jobs (the API's default page size), newest first. */
export async function listJobs(): Promise<JobRow[]> {
	return (await getJson<JobsPage>('/api/v1/jobs')).jobs;
}

/** The first page of the registered datasets (the API's default page size). */
export async function listDatasets(): Promise<DatasetRow[]> {
	return (await getJson<DatasetsPage>('/api/v1/datasets')).datasets;
}

export async function listBaseModels(): Promise<BaseModelRow[]> {
	return (await getJson<BaseModels>('/api/v1/base-models')).base_models;
}

export async function listModelVersions(): Promise<ModelVersionRow[]> {
	return (await getJson<ModelVersions>('/api/v1/models')).models;
}

/** Loads a version into the inference service; answers the /v1 model id to chat with. */
export async function serveModelVersion(name: string, version: number): Promise<ModelServed> {
	const path = `/api/v1/models/${encodeURIComponent(name)}/versions/${version}/serve`;
	return postJson<ModelServed>(path, {});
}

export interface DatasetUpload {
	file: File;
	baseModel?: string;
	maxSeqLength?: number;
	displayName?: string;
}

export async function uploadDataset(upload: DatasetUpload): Promise<DatasetRegistration> {
	const form = new FormData();
	form.append('file', upload.file, upload.file.name);
	if (upload.baseModel) form.append('base_model', upload.baseModel);
	if (upload.maxSeqLength) form.append('max_seq_length', String(upload.maxSeqLength));
	if (upload.displayName) form.append('display_name', upload.displayName);
	const response = await send('/api/v1/datasets', { method: 'POST', body: form });
	return (await response.json()) as DatasetRegistration;
}

export async function createJob(config: TrainingConfigRequest, name?: string): Promise<JobCreated> {
	const query = name ? `?name=${encodeURIComponent(name)}` : '';
	return postJson<JobCreated>(`/api/v1/jobs${query}`, config);
}

export async function getJob(jobId: string): Promise<JobDetail> {
	return getJson<JobDetail>(jobPath(jobId));
}

export async function cancelJob(jobId: string): Promise<void> {
	await postJson<unknown>(`${jobPath(jobId)}/cancel`, {});
}

/** The job's carbon report, or null while the carbon service has no measurement of it (404). */
export async function getJobCarbon(jobId: string): Promise<CarbonReport | null> {
	try {
		return await getJson<CarbonReport>(`${jobPath(jobId)}/carbon`);
	} catch (error) {
		if (error instanceof ApiError && error.status === 404) return null;
		throw error;
	}
}

export function jobEventsPath(jobId: string): string {
	return `${jobPath(jobId)}/events`;
}

export async function listChatModels(): Promise<OpenAIModel[]> {
	return (await getJson<{ object: 'list'; data: OpenAIModel[] }>('/v1/models')).data;
}

export interface ChatRequest {
	model: string;
	messages: ChatMessage[];
	maxTokens: number | null; // null: unset, the model's remaining context
	temperature: number;
}

interface ChatChunk {
	choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
	error?: { message: string; type?: string; code?: string | null };
}

/**
 * Streams a chat completion, calling `onToken` with each piece of the reply. Resolves when the
 * stream ends ([DONE]); rejects with an ApiError (also for an error sent inside the stream), or
 * with an AbortError when `signal` aborts.
 */
export async function streamChatCompletion(
	request: ChatRequest,
	onToken: (text: string) => void,
	signal: AbortSignal
): Promise<void> {
	const response = await send('/v1/chat/completions', {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
		body: JSON.stringify({
			model: request.model,
			messages: request.messages,
			stream: true,
			...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
			temperature: request.temperature
		}),
		signal
	});
	if (!response.body) throw new ApiError(response.status, 'the reply had no body to stream');
	let streamError: ApiError | null = null;
	await readSseStream(
		response.body,
		(message) => {
			if (message.data === '[DONE]' || streamError) return;
			const chunk = JSON.parse(message.data) as ChatChunk;
			if (chunk.error) {
				streamError = new ApiError(response.status, chunk.error.message, chunk.error);
				return;
			}
			const text = chunk.choices?.[0]?.delta?.content;
			if (text) onToken(text);
		},
		signal
	);
	if (signal.aborted) throw new DOMException('the reply was stopped', 'AbortError');
	if (streamError) throw streamError;
}
