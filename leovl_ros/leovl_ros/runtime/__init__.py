"""Inference runtimes: TensorRT, ONNX Runtime, PyTorch; picked once, in that order."""
