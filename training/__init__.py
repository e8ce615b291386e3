"""Training subtree: data preparation, stage 1–3 training, evaluation and the recipe that ships models/default."""
