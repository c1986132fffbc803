import type { ErrorBody, Problem, ProblemDetails } from './types';

/** An error answer of the API (problem details on /api/v1, OpenAI's body on /v1), or a request
 * that got no answer (status 0). */
export class ApiError extends Error {
	readonly status: number;
	readonly type: string | null;
	readonly code: string | null;
	readonly param: string | null;
	readonly problems: Problem[];

	constructor(
		status: number,
		message: string,
		details: { type?: string | null; code?: string | null; param?: string | null; problems?: Problem[] } = {}
	) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.type = details.type ?? null;
		this.code = details.code ?? null;
		this.param = details.param ?? null;
		this.problems = details.problems ?? [];
	}

	get needsApiKey(): boolean {
		return this.status === 401;
	}
}

function isProblem(body: unknown): body is ProblemDetails {
	return (
		typeof body === 'object' && body !== null && typeof (body as { detail?: unknown }).detail === 'string'
	);
}

function isErrorBody(body: unknown): body is ErrorBody {
	if (typeof body !== 'object' || body === null || !('error' in body)) return false;
	const error = (body as { error: unknown }).error;
	return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string';
}

/** The ApiError for a non-2xx response, from its JSON error body when it has one. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
	const text = await response.text().catch(() => '');
	let body: unknown = null;
	try {
		body = JSON.parse(text);
	} catch {
		// not JSON (a proxy's HTML page, an empty body): use the text
	}
	if (isProblem(body)) {
		const { detail, code, problems } = body;
		const param = problems?.find((problem) => problem.field)?.field ?? null;
		return new ApiError(response.status, detail, { type: body.type, code, param, problems: problems ?? [] });
	}
	if (isErrorBody(body)) {
		const { message, type, code, param } = body.error;
		return new ApiError(response.status, message, { type, code, param });
	}
	if (typeof body === 'object' && body !== null && 'detail' in body) {
		return new ApiError(response.status, JSON.stringify((body as { detail: unknown }).detail));
	}
	const summary = text.trim().slice(0, 300) || response.statusText || 'no details';
	return new ApiError(response.status, `HTTP ${response.status}: ${summary}`);
}

/** Any thrown value as an ApiError (network failures become status 0). */
export function asApiError(error: unknown): ApiError {
	if (error instanceof ApiError) return error;
	if (error instanceof Error) return new ApiError(0, `Cannot reach the API: ${error.message}`);
	return new ApiError(0, String(error));
}
