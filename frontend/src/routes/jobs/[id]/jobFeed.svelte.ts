// The job page's live state, built from the job's event feed (replayed from the first event).

import { formatEmissions, formatEnergy, formatLearningRate, formatLoss, formatBytes } from '$lib/format';
import type { ComponentEnergy, Envelope, JobEvent, KnownEvent, OtherEvent } from '$lib/events';
import type { ArtifactRef, JobStatus, TrainingConfig } from '$lib/types';

/** Every event type a job's feed can carry (contracts/catalog.py, aggregate `job`). */
export const JOB_EVENT_TYPES = [
	'JobRequested',
	'JobQueued',
	'JobStarted',
	'TrainingProgressed',
	'EpochCompleted',
	'CheckpointSaved',
	'JobCompleted',
	'JobFailed',
	'JobCancelRequested',
	'JobCancelled',
	'ModelExported',
	'EmissionsMeasured'
] as const;

export interface LossPoint {
	step: number;
	loss: number;
}

export interface LogEntry {
	sequence: string | null;
	occurredAt: string;
	type: string;
	actor: string;
	summary: string;
}

export interface Checkpoint {
	step: number;
	uri: string;
	sizeBytes: number;
	sha256: string | null;
}

export type Outcome =
	| { status: 'COMPLETED'; finalLoss: number | null; evalLoss: number | null; steps: number; tokensTrained: number; trainSeconds: number }
	| { status: 'FAILED'; category: string; message: string; step: number | null }
	| { status: 'CANCELLED'; step: number | null };

export interface EmissionsSnapshot {
	cpu: ComponentEnergy;
	gpu: ComponentEnergy;
	ram: ComponentEnergy;
	intensityGPerKwh: number;
	intensitySource: string;
	intensityIsFallback: boolean;
	countryIsoCode: string | null;
	region: string | null;
	pue: number;
	final: boolean;
}

type Known = JobEvent;

export class JobFeed {
	status = $state<JobStatus | null>(null);
	name = $state<string | null>(null);
	config = $state<TrainingConfig | null>(null);
	lossPoints = $state<LossPoint[]>([]);
	evalPoints = $state<LossPoint[]>([]);
	step = $state<number | null>(null);
	maxSteps = $state<number | null>(null);
	epoch = $state<number | null>(null);
	tokensPerSecond = $state<number | null>(null);
	learningRate = $state<number | null>(null);
	tokensSeen = $state<number | null>(null);
	attempt = $state<number | null>(null);
	device = $state<string | null>(null);
	workerId = $state<string | null>(null);
	estimatedMemoryBytes = $state<number | null>(null);
	cancelRequested = $state(false);
	energyKwh = $state(0);
	emissionsG = $state(0);
	emissionIntervals = $state(0);
	emissions = $state<EmissionsSnapshot | null>(null);
	checkpoints = $state<Checkpoint[]>([]);
	exports = $state<ArtifactRef[]>([]);
	outcome = $state<Outcome | null>(null);
	log = $state<LogEntry[]>([]);

	private seen = new Set<string>();

	/** Applies one SSE message (`data` is the envelope JSON); duplicates (by event_id) are ignored. */
	applyMessage(data: string, sequence: string | null): void {
		let envelope: Envelope;
		try {
			envelope = JSON.parse(data) as Envelope;
		} catch {
			this.log.push({ sequence, occurredAt: '', type: 'unreadable', actor: '', summary: data.slice(0, 200) });
			return;
		}
		if (!envelope || typeof envelope.event !== 'object' || envelope.event === null) return;
		if (envelope.event_id) {
			if (this.seen.has(envelope.event_id)) return;
			this.seen.add(envelope.event_id);
		}
		this.apply(envelope.event as Known);
		this.log.push({
			sequence,
			occurredAt: envelope.occurred_at,
			type: envelope.event.type,
			actor: envelope.actor ? `${envelope.actor.kind}:${envelope.actor.id}` : '',
			summary: summarize(envelope.event)
		});
	}

	private apply(event: Known): void {
		switch (event.type) {
			case 'JobRequested':
				this.name = event.name;
				this.config = event.config;
				this.status = 'PENDING';
				break;
			case 'JobQueued':
				this.status = 'QUEUED';
				this.estimatedMemoryBytes = event.estimated_memory_bytes;
				break;
			case 'JobStarted':
				this.status = 'RUNNING';
				this.attempt = event.attempt;
				this.device = event.device;
				this.workerId = event.worker_id;
				this.maxSteps = event.max_steps;
				if (event.resumed_from_step != null) this.dropPointsAfter(event.resumed_from_step);
				break;
			case 'TrainingProgressed':
				this.addLossPoint({ step: event.step, loss: event.loss });
				this.step = event.step;
				if (event.max_steps != null) this.maxSteps = event.max_steps;
				this.epoch = event.epoch;
				this.learningRate = event.learning_rate;
				if (event.tokens_per_second != null) this.tokensPerSecond = event.tokens_per_second;
				if (event.tokens_seen != null) this.tokensSeen = event.tokens_seen;
				break;
			case 'EpochCompleted':
				if (event.eval_loss != null) {
					this.evalPoints = [...this.evalPoints.filter((p) => p.step !== event.step), { step: event.step, loss: event.eval_loss }];
				}
				break;
			case 'CheckpointSaved':
				this.checkpoints.push({ step: event.step, uri: event.uri, sizeBytes: event.size_bytes, sha256: event.sha256 });
				break;
			case 'JobCancelRequested':
				this.cancelRequested = true;
				break;
			case 'JobCompleted':
				this.status = 'COMPLETED';
				this.step = event.steps;
				this.outcome = {
					status: 'COMPLETED',
					finalLoss: event.final_loss,
					evalLoss: event.eval_loss,
					steps: event.steps,
					tokensTrained: event.tokens_trained,
					trainSeconds: event.train_seconds
				};
				break;
			case 'JobFailed':
				this.status = 'FAILED';
				this.outcome = { status: 'FAILED', category: event.category, message: event.message, step: event.step };
				break;
			case 'JobCancelled':
				this.status = 'CANCELLED';
				this.outcome = { status: 'CANCELLED', step: event.step };
				break;
			case 'ModelExported':
				this.exports = event.artifacts;
				break;
			case 'EmissionsMeasured':
				this.energyKwh += event.energy_kwh;
				this.emissionsG += event.emissions_g;
				this.emissionIntervals += 1;
				this.emissions = {
					cpu: event.cpu,
					gpu: event.gpu,
					ram: event.ram,
					intensityGPerKwh: event.carbon_intensity_g_per_kwh,
					intensitySource: event.intensity_source,
					intensityIsFallback: event.intensity_is_fallback,
					countryIsoCode: event.country_iso_code,
					region: event.region,
					pue: event.pue,
					final: event.final
				};
				break;
		}
	}

	/** A step at or before the last one means a retry resumed earlier: its points replace the old ones. */
	private addLossPoint(point: LossPoint): void {
		const last = this.lossPoints.at(-1);
		if (last && point.step <= last.step) this.dropPointsAfter(point.step - 1);
		this.lossPoints.push(point);
	}

	private dropPointsAfter(step: number): void {
		if (this.lossPoints.some((p) => p.step > step)) this.lossPoints = this.lossPoints.filter((p) => p.step <= step);
	}
}

/** The key fields of an event, in a few words, for the event history. */
export function summarize(event: KnownEvent | OtherEvent): string {
	const e = event as Known;
	switch (e.type) {
		case 'JobRequested':
			return `${e.config.base_model} on dataset ${e.config.dataset_id.slice(0, 8)}${e.name ? `, “${e.name}”` : ''}`;
		case 'JobQueued':
			return `priority ${e.priority}${e.estimated_memory_bytes != null ? `, est. memory ${formatBytes(e.estimated_memory_bytes)}` : ''}`;
		case 'JobStarted':
			return `attempt ${e.attempt} on ${e.device} (${e.worker_id}), ${e.max_steps} steps${e.resumed_from_step != null ? `, resumed from step ${e.resumed_from_step}` : ''}`;
		case 'TrainingProgressed':
			return `step ${e.step}${e.max_steps ? `/${e.max_steps}` : ''}, loss ${formatLoss(e.loss)}, lr ${formatLearningRate(e.learning_rate)}`;
		case 'EpochCompleted':
			return `epoch ${e.epoch} at step ${e.step}, train loss ${formatLoss(e.train_loss)}${e.eval_loss != null ? `, eval loss ${formatLoss(e.eval_loss)}` : ''}`;
		case 'CheckpointSaved':
			return `step ${e.step}, ${formatBytes(e.size_bytes)}, ${e.uri}`;
		case 'JobCompleted':
			return `${e.steps} steps, final loss ${formatLoss(e.final_loss)}, ${e.tokens_trained.toLocaleString('en-US')} tokens`;
		case 'JobFailed':
			return `${e.category}: ${e.message}`;
		case 'JobCancelRequested':
			return e.reason ? `reason: ${e.reason}` : 'no reason given';
		case 'JobCancelled':
			return e.step != null ? `stopped at step ${e.step}` : 'stopped before training';
		case 'ModelExported':
			return e.artifacts.map((a) => `${a.kind} (${formatBytes(a.size_bytes)})`).join(', ');
		case 'EmissionsMeasured':
			return `#${e.sequence}${e.final ? ' final' : ''}: ${formatEnergy(e.energy_kwh)}, ${formatEmissions(e.emissions_g)}`;
		default: {
			const { type: _type, version: _version, ...rest } = event as OtherEvent;
			return JSON.stringify(rest).slice(0, 200);
		}
	}
}
