"""The vLLM kernel build chosen for each kind of CPU (vLLM's own rule), and /proc/cpuinfo parsing."""

from __future__ import annotations

import pytest

from services.runtime.cpu_features import parse_cpuinfo, vllm_kernel_build, watched_flags

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512_bf16

processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2
"""


@pytest.mark.parametrize(
    ("avx2", "avx512", "avx512_bf16", "module"),
    [
        (True, True, True, "vllm._C"),  # Sapphire Rapids, Zen 4/5
        (True, True, False, "vllm._C_AVX512"),  # Skylake-SP, Ice Lake
        (True, False, False, "vllm._C_AVX2"),  # Haswell, Zen 2/3: the build Unsloth's probe skipped
        (True, False, True, "vllm._C_AVX2"),  # BF16 alone does not select the AVX-512 build
    ],
)
def test_an_x86_cpu_gets_the_build_vllm_itself_loads(avx2: bool, avx512: bool, avx512_bf16: bool, module: str) -> None:
    build = vllm_kernel_build("x86_64", avx2=avx2, avx512=avx512, avx512_bf16=avx512_bf16)
    assert (build.module, build.supported) == (module, True)


def test_a_cpu_without_avx2_is_reported_as_unsupported_by_the_wheel() -> None:
    build = vllm_kernel_build("x86_64", avx2=False, avx512=False, avx512_bf16=False)
    assert not build.supported
    assert "needs at least AVX2" in build.reason


def test_machine_names_are_read_as_vllm_reads_them() -> None:
    assert vllm_kernel_build("AMD64", avx2=True, avx512=False, avx512_bf16=False).module == "vllm._C_AVX2"
    arm = vllm_kernel_build("aarch64", avx2=False, avx512=False, avx512_bf16=False)
    assert (arm.module, arm.supported) == ("vllm._C", True)


def test_cpuinfo_gives_the_first_processors_model_and_flags() -> None:
    model, flags = parse_cpuinfo(CPUINFO)
    assert model == "AMD EPYC 7B13"
    assert watched_flags(flags) == {
        "avx2": True, "avx512f": True, "avx512_bf16": True, "amx_tile": False, "amx_bf16": False,
    }  # fmt: skip


def test_missing_cpuinfo_gives_no_model_and_no_flags() -> None:
    model, flags = parse_cpuinfo("")
    assert (model, flags) == ("", frozenset())
    assert not any(watched_flags(flags).values())
