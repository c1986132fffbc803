// services/trainer/demo_facts.py DEMO_HYPERPARAMETERS: LoRA r=64 on all linear layers learns the
// demo facts in seconds on a CPU. The form starts from these values.
export const DEMO_HYPERPARAMETERS = {
	lora: { rank: 64, alpha: 128 },
	learning_rate: 3e-3,
	epochs: 40,
	batch_size: 16,
	max_seq_length: 64,
	warmup_steps: 10
} as const;
