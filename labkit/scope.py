"""What labkit leaves out of PyTorch on purpose, and why: one table, one error.

labkit is a dense, real-valued, CPU tensor engine for learning.  PyTorch names outside that
(sparse layouts, quantization, complex numbers, vendor backends, the compiler's internals ...) are
listed here by category.  Asking for one (``labkit.sparse_coo_tensor``, ``x.to_sparse``,
``labkit.fft.fft``) raises :class:`OutOfScopeError`, an ``AttributeError`` (so ``hasattr`` stays
``False`` and feature checks keep working) whose message names the feature and the reason.
``tests/signature_conformance.py`` reports these names as out of scope instead of missing.
"""
import fnmatch

__all__ = ["OutOfScopeError", "out_of_scope", "CATEGORIES"]


class OutOfScopeError(AttributeError):
    """A PyTorch name labkit leaves out on purpose (the message says why)."""


# category: (reason, patterns of paths as in the signature report: 'name', 'Tensor.name',
# 'fft.name', 'nn.functional.name')
CATEGORIES = {
    "sparse tensors": (
        "labkit tensors are dense (one NumPy array each); there are no sparse layouts. Keep the "
        "data dense (x.to_dense() is x) and use the dense op (mm, addmm, matmul)",
        """sparse_*_tensor smm spmm hsmm hspmm sspaddmm saddmm dsmm *_indices_copy indices_copy
        values_copy
        resize_as_sparse_ Tensor.to_sparse* Tensor.*_indices Tensor.indices Tensor.values
        Tensor.coalesce Tensor.is_coalesced Tensor.dense_dim Tensor.sparse_dim
        Tensor.sparse_mask Tensor.sparse_resize_* Tensor.resize_as_sparse_ Tensor.smm
        Tensor.sspaddmm"""),
    "quantization": (
        "labkit computes in float16/32/64 and integer dtypes only; it has no quantized dtypes "
        "(qint8, quint8) or quantized kernels",
        """quantize_per_* quantized_* q_* fbgemm_* fake_quantize_* fused_moving_avg_obs_fake_quant
        choose_qparams_optimized empty_quantized int_repr dequantize Tensor.q_* Tensor.qscheme
        Tensor.int_repr Tensor.dequantize"""),
    "vendor backends": (
        "these are entry points of NVIDIA/AMD/Intel libraries (cuDNN, MIOpen, oneDNN); labkit "
        "runs on the CPU with NumPy, Numba and BLAS. Call the plain op (conv2d, batch_norm, ...)",
        "cudnn_* miopen_* mkldnn_* Tensor.to_mkldnn"),
    "accelerators": (
        "labkit tensors live on the CPU only: there is no GPU/XPU/IPU/MTIA memory or stream",
        """Tensor.ipu Tensor.xpu Tensor.mtia Tensor.record_stream Tensor.__cuda_array_interface__
        get_device_module profiler_allow_cudagraph_cupti_lazy_reinit_cuda12"""),
    "autocast": (
        "automatic mixed precision is not part of labkit: each op computes in the dtype of its "
        "inputs (convert with x.half()/x.float() yourself)",
        """autocast_* get_autocast_* set_autocast_* is_autocast_* clear_autocast_cache"""),
    "compiler internals": (
        "TorchScript/torch.compile internals (IR parsing, symbolic shapes, futures) have no "
        "meaning in labkit, an eager engine; labkit.compile(fn) returns fn",
        """fork wait parse_ir parse_schema parse_type_comment import_ir_module*
        merge_type_from_type_comment unify_type_list classproperty compiled_with_cxx11_abi sym_*
        get_file_path prepare_multiprocessing_environment thread_safe_generator
        nn.functional.Optional nn.functional.assert_int_or_pair nn.functional.boolean_dispatch
        nn.functional.handle_torch_function nn.functional.has_torch_function*
        Tensor.__torch_dispatch__ Tensor.__torch_function__ Tensor.as_subclass
        Tensor.module_load Tensor.__dlpack_c_exchange_api__"""),
    "internal kernels": (
        "internal ATen kernels behind the public ops (their arguments are the kernels' own), not "
        "API meant to be called; use the public op named in PyTorch's documentation",
        """native_norm batch_norm_backward_* batch_norm_elemt batch_norm_gather_stats*
        batch_norm_stats batch_norm_update_stats grid_sampler_2d grid_sampler_3d embedding_bag
        norm_except_dim slice_inverse Tensor.slice_inverse embedding_renorm_ hash_tensor
        Tensor.hash_tensor"""),
    "low-precision GPU matmuls": (
        "float8/grouped GPU matrix products; labkit has no float8 dtype and no GPU",
        "nn.functional.grouped_mm nn.functional.scaled_mm nn.functional.scaled_grouped_mm"),
    "complex numbers": (
        "labkit has no complex dtypes (its tensors are real). For a spectrum, use NumPy "
        "(np.fft.rfft(x.numpy())) and bring real results back with labkit.tensor; keep real and "
        "imaginary parts as two real tensors",
        """complex polar view_as_complex* view_as_real* stft istft Tensor.stft Tensor.istft
        Tensor.cfloat Tensor.cdouble Tensor.chalf linalg.eig linalg.eigvals fft.fft fft.ifft
        fft.fft2 fft.ifft2 fft.fftn fft.ifftn fft.rfft fft.irfft fft.rfft2 fft.irfft2 fft.rfftn
        fft.irfftn fft.hfft fft.ihfft fft.hfft2 fft.ihfft2 fft.hfftn fft.ihfftn"""),
    "int8/int16 dtypes": (
        "labkit's integer dtypes are uint8, int32 and int64 (no int8/int16); use x.int() or "
        "x.long()",
        "Tensor.char Tensor.short"),
    "storage objects": (
        "a labkit tensor is a NumPy array with autograd around it; there is no separate Storage "
        "object. Use x.numpy() (shares memory), x.data_ptr() or x.storage_offset()",
        "Tensor.storage Tensor.untyped_storage Tensor.storage_type from_file"),
    "first-class dimensions": (
        "functorch.dim's Dim objects (Tensor.index binds positions to them) are not part of "
        "labkit; name dims with ordinary ints and use einsum/permute",
        "Tensor.index"),
    "nested tensors": (
        "labkit has no nested (ragged) tensors; pad to a common length (nn.utils.rnn.pad_sequence)",
        "Tensor.to_padded_tensor"),
}

# The Tensor methods among them (matched above), named so ``labkit.tensor_extras`` can give each
# a descriptor raising the error: a class-level ``Tensor.__getattr__`` would slow every attribute
# access of every tensor.  (Dunders such as __torch_function__ are left simply absent.)
TENSOR_NAMES = """as_subclass ccol_indices cdouble cfloat chalf char coalesce col_indices
crow_indices dense_dim dequantize hash_tensor index indices int_repr ipu is_coalesced istft
module_load mtia q_per_channel_axis q_per_channel_scales q_per_channel_zero_points q_scale
q_zero_point qscheme record_stream resize_as_sparse_ row_indices short slice_inverse smm
sparse_dim sparse_mask sparse_resize_ sparse_resize_and_clear_ sspaddmm stft storage storage_type
to_mkldnn to_padded_tensor to_sparse to_sparse_bsc to_sparse_bsr to_sparse_coo to_sparse_csc
to_sparse_csr untyped_storage values xpu""".split()

_RULES = [(pat, cat) for cat, (_, pats) in CATEGORIES.items() for pat in pats.split()]
_cache = {}


def out_of_scope(path):
    """``(category, reason)`` when the PyTorch name ``path`` ('to_sparse', 'Tensor.q_scale',
    'fft.fft', 'nn.functional.scaled_mm') is left out on purpose, else ``None``."""
    if path not in _cache:
        cat = next((c for pat, c in _RULES if fnmatch.fnmatchcase(path, pat)), None)
        _cache[path] = None if cat is None else (cat, CATEGORIES[cat][0])
    return _cache[path]


def error(owner, path):
    """The ``AttributeError`` for ``owner.<name>`` (``owner``: 'labkit', 'labkit.fft', ...):
    ``OutOfScopeError`` with the reason when the name is out of scope, else the usual one."""
    found = out_of_scope(path)
    name = path.rsplit(".", 1)[-1]
    if found is None:
        kind = "'Tensor' object" if path.startswith("Tensor.") else f"module '{owner}'"
        return AttributeError(f"{kind} has no attribute '{name}'")
    cat, reason = found
    where = "labkit.Tensor" if path.startswith("Tensor.") else owner
    return OutOfScopeError(f"{where}.{name}: {cat}, outside labkit's scope (dense real tensors on "
                           f"the CPU, for learning): {reason}.")
