// Shapes of the events in the log (contracts/events/*.py), as the job's event feed carries them
// in each envelope's `event`.

import type { ArtifactRef, TrainingConfig } from './types';

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
