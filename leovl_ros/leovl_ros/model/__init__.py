"""The LEO-VL model: 2D encoders, CFG encoder + projector, causal LM, prompt, checkpoints."""
