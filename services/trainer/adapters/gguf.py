"""GGUF export through llama.cpp's own converter, taken from the llama-cpp-python source package.

Optional: `pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36`, unpack, and point
GREENTUNE_TRAINER_LLAMA_CPP_DIR at its `vendor/llama.cpp`. The converter runs in a child process
(it rewrites sys.path and sys.argv). Our home-made byte-level BPE tokenizer is GPT-2 style, but
llama.cpp recognises pre-tokenizers by hashing known vocabularies, so unknown ones are declared
"gpt-2" (research/mlstack.md section 7). q4_k_m additionally needs the built llama-cpp-python.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from services.trainer.errors import ExportToolMissingError, Problem, TrainerError

CONVERT_SCRIPT = """
import runpy, sys
llama_cpp_dir, hf_dir, out, outtype = sys.argv[1:5]
sys.path.insert(0, llama_cpp_dir)
sys.argv = ["convert_hf_to_gguf.py", hf_dir, "--outfile", out, "--outtype", outtype]
import conversion.base as base
known = base.TextModel.get_vocab_base_pre
def pre_tokenizer(self, tokenizer):
    try:
        return known(self, tokenizer)
    except NotImplementedError:
        return "gpt-2"
base.TextModel.get_vocab_base_pre = pre_tokenizer
runpy.run_path(f"{llama_cpp_dir}/convert_hf_to_gguf.py", run_name="__main__")
"""
QUANTIZE_SCRIPT = """
import ctypes, sys
import llama_cpp
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = getattr(llama_cpp, "LLAMA_FTYPE_MOSTLY_" + sys.argv[3].upper())
sys.exit(llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(params)))
"""
OUTTYPES = {"gguf_f16": "f16", "gguf_q8_0": "q8_0", "gguf_q4_k_m": "q4_k_m"}


class GgufConversionError(TrainerError):
    category = "ModelError"


class LlamaCppConverter:
    def __init__(self, llama_cpp_dir: Path) -> None:
        self.dir = llama_cpp_dir

    @classmethod
    def find(cls, llama_cpp_dir: Path | None) -> LlamaCppConverter | None:
        """The converter, or None when the folder is unset or lacks convert_hf_to_gguf.py and gguf-py/."""
        if (
            llama_cpp_dir
            and (llama_cpp_dir / "convert_hf_to_gguf.py").is_file()
            and (llama_cpp_dir / "gguf-py").is_dir()
        ):
            return cls(llama_cpp_dir)
        return None

    def convert(self, merged_dir: Path, out_file: Path, outtype: str) -> Path:
        if outtype != "q4_k_m":
            self._run(CONVERT_SCRIPT, str(self.dir), str(merged_dir), str(out_file), outtype)
            return out_file
        f16 = out_file.with_suffix(".f16.gguf")
        self.convert(merged_dir, f16, "f16")  # k-quants come from llama.cpp's quantizer, not the converter
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            hint = "q4_k_m needs llama-cpp-python built from the same sdist (pip install it; ~5 min to build)"
            raise ExportToolMissingError("GGUF q4_k_m unavailable", [Problem(hint, field="export_formats")]) from None
        self._run(QUANTIZE_SCRIPT, str(f16), str(out_file), "q4_k_m")
        f16.unlink()
        return out_file

    def _run(self, script: str, *args: str) -> None:
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise GgufConversionError(f"llama.cpp's GGUF converter failed ({done.returncode}): {' | '.join(tail)}")
