"""Error messages: PyTorch's exception type, a message that names the shapes/values involved,
and never a raw NumPy or Numba error.

Each row: (name, call(M), pattern the labkit message must match).  The same call must raise the
same exception type in PyTorch (``M`` is ``labkit`` or ``torch``).
"""
import re

import pytest

import labkit as lk

torch = pytest.importorskip("torch")


def _one_hot(M):
    return M.nn.functional.one_hot if M is torch else M.one_hot


CASES = [
    ("broadcast_add", lambda M: M.ones(2, 3) + M.ones(2, 4),
     r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton "
     r"dimension 1.*\[2, 3\] and \[2, 4\]"),
    ("broadcast_rank", lambda M: M.ones(3) * M.ones(2, 4),
     r"tensor a \(3\).*tensor b \(4\) at non-singleton dimension 1"),
    ("broadcast_grad", lambda M: M.ones(3, requires_grad=True) - M.ones(4, 1, 2),
     r"tensor a \(3\).*tensor b \(2\) at non-singleton dimension 2"),
    ("broadcast_compare", lambda M: M.ones(3) < M.ones(4), r"tensor a \(3\).*tensor b \(4\)"),
    ("broadcast_where", lambda M: M.where(M.ones(3, dtype=M.bool), M.ones(2, 4), 0.0),
     r"must match the size"),
    ("broadcast_logical", lambda M: (M.ones(3) > 0) & (M.ones(2) > 0), r"must match the size"),
    ("broadcast_lerp", lambda M: M.lerp(M.ones(3), M.ones(4), 0.5), r"must match the size"),
    ("broadcast_addcmul", lambda M: M.addcmul(M.ones(3), M.ones(3), M.ones(5)),
     r"tensor a \(3\).*tensor c \(5\)"),
    ("matmul_shapes", lambda M: M.ones(2, 3) @ M.ones(4, 5),
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    ("matmul_0d", lambda M: M.ones(()) @ M.ones(3), r"at least 1D"),
    ("mm_3d", lambda M: M.mm(M.ones(2, 2, 2), M.ones(2, 2)), r"\[2, 2, 2\]"),
    ("bmm_batch", lambda M: M.bmm(M.ones(2, 3, 4), M.ones(3, 4, 5)), r"2 and 3"),
    ("view_numel", lambda M: M.ones(2, 3).view(4), r"shape '\[4\]' is invalid for input of size 6"),
    ("view_noncontiguous", lambda M: M.ones(2, 3).T.view(6),
     r"view size is not compatible.*\.reshape"),
    ("reshape_two_minus_one", lambda M: M.ones(2, 3).reshape(-1, -1), r"only one dimension"),
    ("dim_out_of_range", lambda M: M.ones(2, 3).sum(2),
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("softmax_dim", lambda M: M.ones(2, 3).softmax(-3), r"but got -3"),
    ("index_out_of_bounds", lambda M: M.ones(2, 3)[2],
     r"index 2 is out of bounds for dimension 0 with size 2"),
    ("index_list_out_of_bounds", lambda M: M.ones(2, 3)[[0, 5]], r"index 5 is out of bounds"),
    ("index_float_tensor", lambda M: M.ones(2, 3)[M.tensor([0.5])], r"long, int, byte or bool"),
    ("index_float", lambda M: M.ones(3)[1.5], r"only integers, slices"),
    ("too_many_indices", lambda M: M.ones(2)[0, 0], r"too many indices for tensor of dimension 1"),
    ("mask_shape", lambda M: M.ones(2, 3)[M.ones(3, dtype=M.bool)],
     r"shape of the mask \[3\] at index 0 does not match"),
    ("cat_sizes", lambda M: M.cat([M.ones(2, 3), M.ones(2, 4)], 0),
     r"Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4"),
    ("cat_ndim", lambda M: M.cat([M.ones(2, 3), M.ones(3)], 0), r"got 2 and 1"),
    ("cat_empty", lambda M: M.cat([]), r"non-empty list"),
    ("stack_sizes", lambda M: M.stack([M.ones(2), M.ones(3)]),
     r"stack expects each tensor to be equal size, but got \[2\] at entry 0 and \[3\] at entry 1"),
    ("expand", lambda M: M.ones(2, 3).expand(4, 3), r"expanded size of the tensor \(4\) must match"),
    ("permute_len", lambda M: M.ones(2, 3).permute(0), r"input.dim\(\) = 2 is not equal to len\(dims\) = 1"),
    ("transpose_dim", lambda M: M.ones(2, 3).transpose(0, 2), r"but got 2"),
    ("gather_index_dtype", lambda M: M.ones(2, 3).gather(1, M.ones(2, 3)), r"int64"),
    ("gather_out_of_bounds", lambda M: M.ones(2, 3).gather(1, M.tensor([[5]])),
     r"index 5 is out of bounds for dimension 1 with size 3"),
    ("scatter_out_of_bounds", lambda M: M.zeros(2, 3).scatter(1, M.tensor([[5]]), M.ones(1, 1)),
     r"index 5 is out of bounds"),
    ("index_select_2d", lambda M: M.ones(2, 3).index_select(0, M.tensor([[0]])), r"vector"),
    ("masked_fill_float_mask", lambda M: M.ones(2).masked_fill(M.ones(2), 0.0), r"bool"),
    ("masked_fill_shape", lambda M: M.ones(2, 3).masked_fill(M.ones(4, dtype=M.bool), 0.0),
     r"\[4\].*\[2, 3\]"),
    ("one_hot_float", lambda M: _one_hot(M)(M.ones(2), 3), r"LongTensor"),
    ("one_hot_too_big", lambda M: _one_hot(M)(M.tensor([5]), 3), r"smaller than num_classes"),
    ("item_many", lambda M: M.ones(3).item(), r"a Tensor with 3 elements cannot be converted"),
    ("bool_many", lambda M: bool(M.ones(3)), r"ambiguous"),
    ("len_0d", lambda M: len(M.tensor(1.0)), r"len\(\) of a 0-d tensor"),
    ("requires_grad_int", lambda M: M.tensor([1]).requires_grad_(),
     r"only Tensors of floating point dtype can require gradients"),
    ("ragged_list", lambda M: M.tensor([[1, 2], [3]]), r"expected sequence of length 2 at dim 1 \(got 1\)"),
    ("string_data", lambda M: M.tensor("abc"), r"."),
    ("negative_size", lambda M: M.zeros(-1), r"negative dimension -1"),
    ("randint_range", lambda M: M.randint(5, 2, (3,)), r"from=5 >= to=2"),
    ("arange_step_zero", lambda M: M.arange(0, 5, 0), r"step must be nonzero"),
    ("inplace_broadcast", lambda M: M.ones(3).add_(M.ones(2, 3)),
     r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"),
    ("inplace_float_into_int", lambda M: M.ones(3, dtype=M.int64).add_(1.5), r"can't be cast"),
    ("setitem_shape", lambda M: M.ones(2, 3).__setitem__(0, M.ones(4)),
     r"shape mismatch: value tensor of shape \[4\] cannot be broadcast to indexing result of "
     r"shape \[3\]"),
    ("index_put_shape", lambda M: M.ones(3).index_put((M.tensor([0]),), M.ones(2)),
     r"value tensor of shape \[2\] cannot be broadcast to indexing result of shape \[1\]"),
    ("split_sizes", lambda M: M.ones(5).split([2, 2]), r"sum exactly to 5"),
    ("chunk_zero", lambda M: M.ones(5).chunk(0), r"greater than 0"),
    ("narrow_range", lambda M: M.ones(5).narrow(0, 3, 4), r"start \(3\) \+ length \(4\) exceeds"),
    ("mean_of_int", lambda M: M.tensor([1, 2]).mean(), r"floating point.*Long|floating point"),
    ("max_of_empty", lambda M: M.ones(0).max(), r"numel\(\) == 0"),
    ("argmax_of_empty", lambda M: M.ones(0).argmax(), r"numel\(\) == 0"),
    ("flatten_order", lambda M: M.ones(2, 3, 4).flatten(2, 1), r"start_dim cannot come after end_dim"),
    ("t_of_3d", lambda M: M.ones(2, 3, 4).t(), r"<= 2 dimensions"),
    ("mT_of_1d", lambda M: M.ones(3).mT, r"matrices"),
    ("tril_of_1d", lambda M: M.ones(3).tril(), r"at least 2 dimensions"),
    ("einsum_sizes", lambda M: M.einsum("ij,jk->ik", M.ones(2, 3), M.ones(4, 5)), r"."),
    ("dot_2d", lambda M: M.dot(M.ones(2, 2), M.ones(2)), r"1D tensors expected, but got 2D and 1D"),
    ("outer_2d", lambda M: M.outer(M.ones(2, 2), M.ones(2)), r"Expected 1-D argument self"),
    ("bitwise_float", lambda M: M.ones(2) & M.ones(2), r"bitwise_and"),
    ("div_rounding_mode", lambda M: M.div(M.ones(2), 2, rounding_mode="x"), r"rounding_mode"),
    ("clamp_without_bounds", lambda M: M.clamp(M.ones(2)), r"At least one of 'min' or 'max'"),
    ("repeat_too_few", lambda M: M.ones(2, 3).repeat(2), r"can not be smaller"),
    ("sum_duplicate_dims", lambda M: M.ones(2, 3).sum((0, 0)), r"appears multiple times"),
    ("unsqueeze_dim", lambda M: M.ones(2, 3).unsqueeze(4), r"\[-3, 2\], but got 4"),
    ("grad_assign_shape", lambda M: setattr(M.ones(3, requires_grad=True), "grad", M.ones(2)),
     r"assigned grad has data of a different size"),
    ("backward_non_scalar", lambda M: (M.ones(3, requires_grad=True) * 2).backward(),
     r"grad can be implicitly created only for scalar outputs"),
    ("backward_no_grad", lambda M: M.ones(3).sum().backward(),
     r"element 0 of tensors does not require grad and does not have a grad_fn"),
    ("negate_bool", lambda M: -M.ones(2, dtype=M.bool), r"Negation, the `-` operator, on a bool"),
    ("subtract_bool", lambda M: 1 - M.ones(2, dtype=M.bool), r"Subtraction, the `-` operator"),
    ("abs_bool", lambda M: M.ones(2, dtype=M.bool).abs(), r"not implemented for 'Bool'.*long"),
    ("softmax_long", lambda M: M.tensor([1, 2]).softmax(0), r"not implemented for 'Long'.*float"),
    ("log_softmax_long", lambda M: M.nn.functional.log_softmax(M.tensor([[1, 2]]), 1),
     r"not implemented for 'Long'.*dtype="),
    ("int_negative_power", lambda M: M.tensor([2]) ** -1, r"Integers to negative integer powers"),
    ("numpy_requires_grad", lambda M: M.ones(2, requires_grad=True).numpy(),
     r"Use tensor.detach\(\).numpy\(\) instead"),
]


@pytest.mark.parametrize("name,call,pattern", CASES, ids=[c[0] for c in CASES])
def test_error_type_matches_torch_and_message_is_helpful(name, call, pattern):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(Exception) as got:
        call(lk)
    assert type(got.value) is type(expected.value), \
        f"labkit raised {type(got.value).__name__}: {got.value}; torch raises " \
        f"{type(expected.value).__name__}: {expected.value}"
    msg = str(got.value)
    assert re.search(pattern, msg, re.S), f"message {msg!r} does not match {pattern!r}"
    assert "numba" not in msg.lower() and "ufunc" not in msg and "numpy" not in type(got.value).__module__


def test_errors_are_raised_from_labkit_not_numpy_frames():
    """The traceback's last frame of a broadcasting error is labkit code, not NumPy internals."""
    with pytest.raises(RuntimeError) as e:
        lk.ones(2, 3) + lk.ones(2, 4)
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert "labkit" in e.traceback[-1].path.as_posix()
