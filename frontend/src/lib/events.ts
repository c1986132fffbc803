// Shapes of the events in the log, as the job's event feed carries them in each envelope's
// `event`: aliases of the types scripts/generate-types makes from contracts/schemas/*.json
// (generated/events.d.ts). Hand-written, and marked so, is only OtherEvent: what the dashboard
// does with an event type it does not know.

import type * as Contracts from './generated/events';

export type Actor = Contracts.Actor;
export type ComponentEnergy = Contracts.ComponentEnergy;

export type JobRequested = Contracts.JobRequested;
export type JobQueued = Contracts.JobQueued;
export type JobStarted = Contracts.JobStarted;
export type TrainingProgressed = Contracts.TrainingProgressed;
export type EpochCompleted = Contracts.EpochCompleted;
export type CheckpointSaved = Contracts.CheckpointSaved;
export type JobCompleted = Contracts.JobCompleted;
export type JobFailed = Contracts.JobFailed;
export type JobCancelRequested = Contracts.JobCancelRequested;
export type JobCancelled = Contracts.JobCancelled;
export type ModelExported = Contracts.ModelExported;
export type EmissionsMeasured = Contracts.EmissionsMeasured;

/** Every event type of the catalogue (contracts/catalog.py). */
export type KnownEvent = Contracts.Envelope['event'];

/** The events a job's feed carries that the job page reads (aggregate `job`). */
export type JobEvent =
	| JobRequested
	| JobQueued
	| JobStarted
	| TrainingProgressed
	| EpochCompleted
	| CheckpointSaved
	| JobCompleted
	| JobFailed
	| JobCancelRequested
	| JobCancelled
	| ModelExported
	| EmissionsMeasured;

/** Hand-written: an event type this dashboard does not know (newer than its schemas), shown in the
 * history as it is. */
export interface OtherEvent {
	type: string;
	[field: string]: unknown;
}

/** An envelope of the feed: its event is one of the catalogue's, or one this build does not know. */
export type Envelope = Omit<Contracts.Envelope, 'event'> & { event: KnownEvent | OtherEvent };
