"""GPU-batched environments written as NVIDIA Warp kernels over torch-owned state."""
