// Server-sent events: fetch() bodies parsed by eventsource-parser, and one subscription helper that uses the
// browser's EventSource when no API key is set and fetch (which can send the Authorization
// header) when one is.

import { EventSourceParserStream } from 'eventsource-parser/stream';

import { ApiError, asApiError, errorFromResponse } from './apiError';
import { apiKey, authHeaders } from './apiKey.svelte';

export interface SseMessage {
	event: string;
	data: string;
	id: string | null;
}

/** Reads an SSE body to its end (or until `signal` aborts), calling `onMessage` per event. */
export async function readSseStream(
	body: ReadableStream<Uint8Array>,
	onMessage: (message: SseMessage) => void,
	signal?: AbortSignal
): Promise<void> {
	const bytes = body as ReadableStream<BufferSource>; // what TextDecoderStream's types accept
	const reader = bytes
		.pipeThrough(new TextDecoderStream())
		.pipeThrough(new EventSourceParserStream())
		.getReader();
	const abort = () => reader.cancel().catch(() => undefined);
	signal?.addEventListener('abort', abort, { once: true });
	try {
		for (;;) {
			const { value, done } = await reader.read();
			if (done) return;
			onMessage({ event: value.event || 'message', data: value.data, id: value.id ?? null });
		}
	} finally {
		signal?.removeEventListener('abort', abort);
		reader.releaseLock();
	}
}

export interface EventStreamHandlers {
	onMessage: (message: SseMessage) => void;
	/** Connection state, for a small "live / reconnecting" indicator. */
	onState?: (state: 'connecting' | 'open' | 'reconnecting' | 'closed') => void;
	/** A failure the stream cannot recover from by itself (HTTP error answer, e.g. 401 or 404). */
	onError?: (error: ApiError) => void;
}

const RECONNECT_DELAY_MS = 2000;

/**
 * Subscribes to an SSE endpoint. `eventTypes` lists the named events to listen for (EventSource
 * delivers a named event only to its listener). Returns a function that closes the stream.
 */
export function openEventStream(path: string, eventTypes: readonly string[], handlers: EventStreamHandlers): () => void {
	return apiKey.value
		? openWithFetch(path, handlers)
		: openWithEventSource(path, eventTypes, handlers);
}

function openWithEventSource(path: string, eventTypes: readonly string[], handlers: EventStreamHandlers): () => void {
	handlers.onState?.('connecting');
	const source = new EventSource(path);
	const deliver = (e: MessageEvent<string>) =>
		handlers.onMessage({ event: e.type, data: e.data, id: e.lastEventId || null });
	for (const type of ['message', ...eventTypes]) source.addEventListener(type, deliver as EventListener);
	source.onopen = () => handlers.onState?.('open');
	source.onerror = () => {
		if (source.readyState === EventSource.CLOSED) {
			// EventSource gives up on an HTTP error answer; ask once more with fetch for its message.
			handlers.onState?.('closed');
			fetch(path, { headers: { Accept: 'text/event-stream' } })
				.then(async (response) => {
					const error = response.ok
						? new ApiError(response.status, 'the event stream closed')
						: await errorFromResponse(response);
					response.body?.cancel().catch(() => undefined);
					handlers.onError?.(error);
				})
				.catch((error) => handlers.onError?.(asApiError(error)));
		} else {
			handlers.onState?.('reconnecting'); // the browser reconnects with Last-Event-ID itself
		}
	};
	return () => {
		source.close();
		handlers.onState?.('closed');
	};
}

function openWithFetch(path: string, handlers: EventStreamHandlers): () => void {
	const controller = new AbortController();
	let lastEventId: string | null = null;

	const connect = async (): Promise<void> => {
		while (!controller.signal.aborted) {
			try {
				const headers: Record<string, string> = { Accept: 'text/event-stream', ...authHeaders() };
				if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
				const response = await fetch(path, { headers, signal: controller.signal });
				if (!response.ok || !response.body) {
					handlers.onState?.('closed');
					handlers.onError?.(await errorFromResponse(response));
					return;
				}
				handlers.onState?.('open');
				await readSseStream(
					response.body,
					(message) => {
						if (message.id !== null) lastEventId = message.id;
						handlers.onMessage(message);
					},
					controller.signal
				);
			} catch (error) {
				if (controller.signal.aborted) return;
				void error; // a dropped connection: reconnect below
			}
			if (controller.signal.aborted) return;
			handlers.onState?.('reconnecting');
			await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
		}
	};

	handlers.onState?.('connecting');
	void connect();
	return () => {
		controller.abort();
		handlers.onState?.('closed');
	};
}
