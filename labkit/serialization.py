"""``labkit.save`` / ``labkit.load``: checkpoints as safetensors files, written atomically.

    labkit.save(model.state_dict(), "model.safetensors")
    model.load_state_dict(labkit.load("model.safetensors"))

    labkit.save({"model": model.state_dict(), "optim": optimizer.state_dict(), "epoch": 3},
                "checkpoint.safetensors")

Format
------
A standard `safetensors <https://github.com/huggingface/safetensors>`_ file, written and read with
the ``safetensors`` library's NumPy API:

* every tensor is stored as a named safetensors tensor. A flat state dict keeps its own names
  (``"fc1.weight"``), so other tools (``safetensors.torch.load_file``) read it directly; tensors in
  nested objects get dotted path names (``"optim.state.0.exp_avg"``);
* the rest of the object (dicts with int keys, lists, tuples, numbers, strings, None) is stored as
  JSON in the header's ``__metadata__`` (key ``"labkit.structure"``), with each tensor replaced by
  a reference to its name. The same tensor object saved twice (tied weights) is stored once and
  comes back as one object.

Safety
------
* Loading never executes code: safetensors holds only raw numbers and JSON. Pickle-based files
  (PyTorch's ``torch.save`` ``.pt``/``.pth``, zip or legacy format) are recognised and refused
  with an explanation and a conversion recipe: unpickling a file can run arbitrary code.
* Saving to a path is atomic: the bytes go to a temporary file in the same directory
  (``.<name>.<pid>.<random>.tmp``), which is flushed, fsync'ed and then renamed over the target
  with ``os.replace``. An error midway leaves the previous checkpoint untouched and removes the
  temporary file; a process killed midway leaves it, and the next save to the same target
  removes it (a temporary file whose process is still running is left alone).
* The file gets the usual permissions: a new file ``0666`` minus the umask (``0644`` typically),
  an overwritten file keeps its mode. Saving through a symbolic link writes the file the link
  points to and keeps the link.
* Truncated or corrupted files, and crafted ``labkit.structure`` metadata, raise a
  ``ValueError`` naming the file and what is wrong.
* bfloat16 tensors (e.g. in a Hugging Face ``.safetensors`` file) load as float32: labkit has no
  bfloat16 dtype, and every bfloat16 value is exactly a float32 value (its upper 16 bits), so
  nothing is lost. Other dtypes labkit lacks (float8 ...) raise a ValueError naming them.
"""
import errno
import glob
import json
import math
import os
import re
import pickle
import struct
import tempfile
from collections import Counter, OrderedDict

import numpy as np

from . import dtypes as D
from .tensor import Tensor, _make

__all__ = ["save", "load", "UnsafeCheckpointError"]

FORMAT_KEY = "labkit.format"
STRUCTURE_KEY = "labkit.structure"
FORMAT_VERSION = "1"
_MAX_HEADER = 100 * 1024 * 1024          # safetensors' own limit on the JSON header


class UnsafeCheckpointError(pickle.UnpicklingError, ValueError):
    """Raised by ``labkit.load`` for pickle-based files, which it refuses to unpickle."""


# ---- saving --------------------------------------------------------------------------------------
class _Encoder:
    """Walks the object: tensors go to ``self.tensors`` (name -> array), the rest becomes JSON."""

    def __init__(self):
        self.tensors = {}
        self._names_by_id = {}
        self._keep_alive = []

    def _name_for(self, path):
        name = ".".join(str(p) for p in path) or "tensor"
        if name in self.tensors:
            i = 1
            while f"{name}#{i}" in self.tensors:
                i += 1
            name = f"{name}#{i}"
        return name

    def _add_array(self, obj, arr, path):
        key = id(obj)
        if key in self._names_by_id:
            return self._names_by_id[key]
        if arr.dtype not in D._FROM_NP:
            raise TypeError(f"can't save an array of dtype {arr.dtype} at {_where(path)}: "
                            f"safetensors stores bool, uint8, int32, int64, float16/32/64")
        name = self._name_for(path)
        self.tensors[name] = np.require(arr, requirements="C")
        self._names_by_id[key] = name
        self._keep_alive.append(obj)          # ids must stay unique while we encode
        return name

    def encode(self, obj, path=()):
        if isinstance(obj, Tensor):
            ref = {"__tensor__": self._add_array(obj, obj._np, path)}
            if obj.requires_grad:
                ref["requires_grad"] = True
            return ref
        if isinstance(obj, np.ndarray):
            return {"__ndarray__": self._add_array(obj, obj, path)}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (np.bool_,)):
            return bool(obj)
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            v = float(obj)
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(obj, D.dtype):
            return {"__dtype__": obj.name}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, path + (i,)) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, path + (i,)) for i, v in enumerate(obj)]
        if isinstance(obj, (set, frozenset)):
            return {"__set__": [self.encode(v, path + (i,)) for i, v in enumerate(sorted(obj))]}
        if isinstance(obj, dict):
            kind = ("Counter" if isinstance(obj, Counter) else
                    "OrderedDict" if isinstance(obj, OrderedDict) else "dict")
            items = [[self.encode(k, path), self.encode(v, path + (k,))] for k, v in obj.items()]
            return {"__dict__": items, "type": kind}
        raise TypeError(
            f"labkit.save can't store an object of type {type(obj).__name__} (at {_where(path)}). "
            f"Checkpoints hold tensors, NumPy arrays, numbers, strings, None, and lists / tuples / "
            f"dicts of these (no code, by design). Save the data the object holds instead, e.g. a "
            f"model's .state_dict() rather than the model.")


def _where(path):
    return "obj" + "".join(f"[{p!r}]" for p in path)


def _is_flat_state_dict(obj):
    return (isinstance(obj, dict) and len(obj) > 0
            and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()))


def _serialize(obj):
    """The bytes of the safetensors file for ``obj``."""
    from safetensors.numpy import save as st_save
    enc = _Encoder()
    if _is_flat_state_dict(obj):
        # keep the state dict's own names as the safetensors names (readable by other tools)
        items = []
        for k, v in obj.items():
            if id(v) in enc._names_by_id:
                name = enc._names_by_id[id(v)]
            else:
                enc.tensors[k] = np.require(v._np, requirements="C")
                enc._names_by_id[id(v)] = name = k
                enc._keep_alive.append(v)
            ref = {"__tensor__": name}
            if v.requires_grad:
                ref["requires_grad"] = True
            items.append([k, ref])
        kind = "OrderedDict" if isinstance(obj, OrderedDict) else "dict"
        structure = {"__dict__": items, "type": kind}
    else:
        structure = enc.encode(obj)
    metadata = {FORMAT_KEY: FORMAT_VERSION,
                STRUCTURE_KEY: json.dumps(structure, allow_nan=False, separators=(",", ":"))}
    return st_save(enc.tensors, metadata=metadata)


_CHUNK = 1 << 22


def _write_bytes(fh, data):
    """Write ``data`` to the open file in chunks (the step a failing disk would interrupt)."""
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        fh.write(view[start:start + _CHUNK])


def save(obj, f, pickle_module=pickle, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    r"""Save ``obj`` (a state dict, optimizer state, or a nest of them) to a safetensors file.

    Args:
        obj: a Tensor, or dicts / lists / tuples of tensors, NumPy arrays, numbers, strings and
            None (e.g. ``model.state_dict()``, ``optimizer.state_dict()``, or a dict holding
            both plus the epoch). Other objects (modules, functions) are refused: save their
            state instead.
        f: a file path (``str`` or ``os.PathLike``), written atomically, or a writable binary
            file object (e.g. ``io.BytesIO``), written directly.
        pickle_module, pickle_protocol, _use_new_zipfile_serialization,
            _disable_byteorder_record: PyTorch's, with its defaults; they shape a pickle
            archive, and labkit never pickles, so they have no effect on the file.

    Example:
        >>> labkit.save(model.state_dict(), "model.safetensors")
    """
    data = _serialize(obj)
    if hasattr(f, "write") and not isinstance(f, (str, os.PathLike)):
        _write_bytes(f, data)
        return
    path = os.path.realpath(os.fspath(f))     # through a symlink: write the file it points to
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"labkit.save: the directory {directory!r} does not exist "
                                f"(create it first, e.g. os.makedirs({directory!r}, "
                                f"exist_ok=True))")
    base = os.path.basename(path)
    _remove_stale_temps(directory, base)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_bytes(fh, data)
            fh.flush()
            try:
                os.fchmod(fh.fileno(), mode)
            except (AttributeError, OSError):   # pragma: no cover - e.g. Windows
                pass
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _umask():
    try:                                       # Linux: read it without changing it
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)                     # elsewhere: the classic set-and-restore
    os.umask(mask)
    return mask


def _mode_for(path):
    """An overwritten file keeps its permission bits; a new one gets 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _pid_alive(pid):
    if pid == os.getpid():
        return False                           # our own saves run one at a time per target
    if os.name == "nt":                        # os.kill(pid, 0) would signal it there: keep it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError as e:                       # EPERM: it exists, owned by someone else
        return e.errno == errno.EPERM
    return True


def _remove_stale_temps(directory, base):
    """Remove temporary files left by saves of ``base`` that were killed midway."""
    pattern = re.compile(r"^\." + re.escape(base) + r"\.(?:(\d+)\.)?[^.]+\.tmp$")
    for cand in glob.glob(os.path.join(glob.escape(directory), "." + glob.escape(base) +
                                       ".*.tmp")):
        m = pattern.match(os.path.basename(cand))
        if m is None:
            continue
        if m.group(1) is not None and _pid_alive(int(m.group(1))):
            continue                           # another process is saving right now
        try:
            os.unlink(cand)
        except OSError:
            pass


def _fsync_dir(directory):
    """Make the rename itself durable (best effort: not every OS / filesystem allows it)."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# ---- loading -------------------------------------------------------------------------------------
_PICKLE_ADVICE = (
    "labkit.load only reads safetensors files. Unpickling can execute arbitrary code hidden in "
    "the file, so labkit never unpickles anything, whatever weights_only says. To convert a "
    "checkpoint you trust, in PyTorch run:\n"
    "    import torch; from safetensors.torch import save_file\n"
    "    save_file(torch.load(path, weights_only=True), 'model.safetensors')\n"
    "(for a state dict; save_file needs a flat dict of tensors), then labkit.load that file. "
    "labkit.save always writes safetensors.")


def _sniff(head, name):
    """Refuse pickle-based formats before anything else looks at the bytes."""
    if len(head) >= 9 and head[8:9] == b"{" and 0 < struct.unpack("<Q", head[:8])[0] <= _MAX_HEADER:
        return                 # safetensors framing: an 8-byte length, then the JSON header
    if head[:4] == b"PK\x03\x04":
        raise UnsafeCheckpointError(
            f"{name} is a zip archive: most likely a PyTorch torch.save checkpoint (.pt/.pth), "
            f"which stores its objects with pickle. " + _PICKLE_ADVICE)
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        raise UnsafeCheckpointError(
            f"{name} is a Python pickle (protocol {head[1]}), e.g. a legacy torch.save or "
            f"pickle.dump file. " + _PICKLE_ADVICE)


def _check_header(head, size, name):
    """Validate the safetensors framing; return the parsed header dict."""
    if size < 8:
        raise ValueError(f"{name} is not a valid labkit/safetensors checkpoint: it is only "
                         f"{size} bytes long (truncated or empty file?)")
    (n,) = struct.unpack("<Q", head[:8])
    if n == 0 or n > _MAX_HEADER:
        if head[:1] in (b"(", b"]", b"}", b"c", b"I", b"N"):
            # protocol-0/1 pickles start with an opcode such as '(' MARK or 'c' GLOBAL
            raise UnsafeCheckpointError(f"{name} is not a safetensors file; it looks like a "
                                        f"text-protocol Python pickle. " + _PICKLE_ADVICE)
        raise ValueError(f"{name} is not a safetensors file (its first 8 bytes do not give a "
                         f"plausible header length: {n}). Was it written by labkit.save or "
                         f"safetensors?")
    if 8 + n > size:
        raise ValueError(f"{name} is truncated: the header says it is {n} bytes long but the "
                         f"file has only {size - 8} bytes after the length field (an "
                         f"interrupted copy or download?)")
    return n


def _parse_header(raw, name):
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{name} is corrupted: its safetensors header is not valid JSON "
                         f"({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name} is corrupted: its safetensors header is not a JSON object")
    expected = 8 + len(raw)
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            expected = max(expected, 8 + len(raw) + int(info["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError):
            raise ValueError(f"{name} is corrupted: tensor entry {key!r} in the header has no "
                             f"valid data_offsets") from None
    return header, expected


_MAX_DEPTH = 200                      # nesting of the saved structure (a state dict needs ~4)
_DICT_KINDS = ("dict", "OrderedDict", "Counter")


def _corrupt(name, what):
    return ValueError(f"{name} is corrupted: its labkit structure metadata {what}")


def _decode(node, tensors, name, objs, depth=0):
    """Rebuild the saved object from its JSON ``node``, validating every node."""
    if depth > _MAX_DEPTH:
        raise _corrupt(name, f"is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(node, list):
        return [_decode(v, tensors, name, objs, depth + 1) for v in node]
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict):
        raise _corrupt(name, f"holds a {type(node).__name__}")
    tags = [k for k in ("__tensor__", "__ndarray__", "__tuple__", "__set__", "__float__",
                        "__dtype__", "__dict__") if k in node]
    if len(tags) != 1:
        raise _corrupt(name, f"has an unknown entry: {sorted(map(str, node))}")
    tag, value = tags[0], node[tags[0]]
    if tag in ("__tensor__", "__ndarray__"):
        if not isinstance(value, str) or value not in tensors:
            raise _corrupt(name, f"refers to a tensor {value!r} that the file does not "
                                 f"contain")
        if tag == "__ndarray__":
            return tensors[value]
        if value not in objs:
            t = _make(tensors[value])
            if node.get("requires_grad") is True:
                if t._np.dtype.kind != "f":
                    raise _corrupt(name, f"asks for requires_grad on the {t.dtype} tensor "
                                         f"{value!r}")
                t.requires_grad_(True)
            objs[value] = t
        return objs[value]
    if tag in ("__tuple__", "__set__"):
        if not isinstance(value, list):
            raise _corrupt(name, f"has a {tag} entry that is not a list")
        items = [_decode(v, tensors, name, objs, depth + 1) for v in value]
        if tag == "__tuple__":
            return tuple(items)
        try:
            return set(items)
        except TypeError:
            raise _corrupt(name, "has a set of unhashable items") from None
    if tag == "__float__":
        if value not in ("inf", "-inf", "nan"):
            raise _corrupt(name, f"has an invalid special float {value!r}")
        return float(value)
    if tag == "__dtype__":
        try:
            return D.as_dtype(value)
        except (TypeError, ValueError, KeyError, AttributeError):
            raise _corrupt(name, f"has an unknown dtype {value!r}") from None
    kind = node.get("type", "dict")
    if kind not in _DICT_KINDS or not isinstance(value, list) or \
            not all(isinstance(kv, list) and len(kv) == 2 for kv in value):
        raise _corrupt(name, "has a malformed dict entry")
    items = []
    for k, v in value:
        key = _hashable(_decode(k, tensors, name, objs, depth + 1))
        try:
            hash(key)
        except TypeError:
            raise _corrupt(name, f"has an unhashable dict key of type "
                                 f"{type(key).__name__}") from None
        items.append((key, _decode(v, tensors, name, objs, depth + 1)))
    if kind == "OrderedDict":
        return OrderedDict(items)
    if kind == "Counter":
        return Counter(dict(items))
    return dict(items)


def _hashable(k):
    return tuple(_hashable(v) for v in k) if isinstance(k, list) else k


def _owned(arr):
    """A writable, contiguous array that owns its memory (optimizers update state in place)."""
    return np.array(arr, copy=True, order="C")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    r"""Load an object saved with :func:`labkit.save` (or any safetensors file).

    Args:
        f: a file path (``str`` / ``os.PathLike``) or a readable binary file object.
        map_location: accepted for PyTorch compatibility (everything loads onto the CPU).
        weights_only (bool or None): PyTorch's default None means True; labkit always behaves
            as ``weights_only=True`` and more: it never unpickles, whatever the value.
        mmap: accepted and ignored.

    Returns:
        The saved object: dicts / lists / tuples / numbers / strings with the tensors in place.
        A plain safetensors file (e.g. from ``safetensors.torch.save_file``) loads as a dict of
        name -> Tensor.

    Raises:
        UnsafeCheckpointError (a ValueError): the file is a pickle (PyTorch ``.pt``/``.pth``).
        ValueError: the file is truncated, corrupted or not safetensors (the message names it).

    Example:
        >>> model.load_state_dict(labkit.load("model.safetensors", weights_only=True))
    """
    if map_location is not None:
        from .tensor import device
        device(map_location if not callable(map_location) else "cpu")
    if hasattr(f, "read") and not isinstance(f, (str, os.PathLike)):
        name = f"file object {getattr(f, 'name', type(f).__name__)!r}"
        data = f.read()
        return _load_bytes(bytes(data), name)
    path = os.fspath(f)
    name = f"'{path}'"
    if os.path.isdir(path):
        raise IsADirectoryError(f"labkit.load: {name} is a directory, not a checkpoint file")
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
        _sniff(head, name)
        n = _check_header(head, size, name)
        fh.seek(8)
        raw = fh.read(n)
    header, expected = _parse_header(raw, name)
    if expected != size:
        _size_error(name, size, expected)
    special = _special_dtypes(header, name)
    from safetensors import safe_open
    try:
        with safe_open(path, framework="np") as st:
            metadata = st.metadata() or {}
            tensors = {k: _owned(st.get_tensor(k)) for k in st.keys() if k not in special}
    except Exception as e:              # SafetensorError
        raise ValueError(f"{name} could not be read as safetensors: {e}") from None
    if special:
        with open(path, "rb") as fh:
            for k in special:
                start, end = header[k]["data_offsets"]
                fh.seek(8 + n + start)
                tensors[k] = _bf16_to_float32(fh.read(end - start), header[k], k, name)
    return _build(metadata, tensors, header, name)


def _special_dtypes(header, name):
    """Names of the bfloat16 tensors (loaded by hand as float32); other dtypes labkit lacks
    raise here, before anything is read."""
    special = []
    for k, info in header.items():
        if k == "__metadata__" or not isinstance(info, dict):
            continue
        dt = info.get("dtype")
        if dt == "BF16":
            special.append(k)
        elif dt not in _SAFETENSORS_DTYPES:
            raise ValueError(f"{name}: tensor {k!r} has dtype {dt}, which labkit does not "
                             f"support (labkit has bool, uint8, int8/16/32/64 and "
                             f"float16/32/64; bfloat16 loads as float32). Convert it where it "
                             f"was made, e.g. in PyTorch: tensor.float()")
    return special


_SAFETENSORS_DTYPES = {"BOOL", "U8", "I8", "I16", "I32", "I64", "F16", "F32", "F64", "U16",
                       "U32", "U64"}


def _bf16_to_float32(raw, info, key, name):
    """bfloat16 bytes -> float32 array: a bfloat16 is the upper half of a float32 (exact)."""
    shape = tuple(info.get("shape", ()))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) != 2 * count:
        raise ValueError(f"{name} is corrupted: bfloat16 tensor {key!r} of shape {list(shape)} "
                         f"has {len(raw)} bytes of data, expected {2 * count}")
    bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
    return bits.view(np.float32).reshape(shape).copy()


def _size_error(name, size, expected):
    if size < expected:
        raise ValueError(f"{name} is truncated: the safetensors header describes {expected} bytes "
                         f"but the file has {size} (an interrupted save, copy or download?). "
                         f"Re-create or re-download it.")
    raise ValueError(f"{name} is corrupted: it has {size - expected} unexpected bytes after the "
                     f"tensor data described by its header")


def _load_bytes(data, name):
    from safetensors.numpy import load as st_load
    _sniff(data[:64], name)
    n = _check_header(data[:64], len(data), name)
    header, expected = _parse_header(data[8:8 + n], name)
    if expected != len(data):
        _size_error(name, len(data), expected)
    special = _special_dtypes(header, name)
    try:
        if special:        # safetensors' NumPy loader cannot skip them: drop them from a copy
            tensors = _load_bytes_without(data, n, header, special, st_load)
        else:
            tensors = {k: _owned(v) for k, v in st_load(data).items()}
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"{name} could not be read as safetensors: {e}") from None
    for k in special:
        start, end = header[k]["data_offsets"]
        tensors[k] = _bf16_to_float32(data[8 + n + start:8 + n + end], header[k], k, name)
    return _build(header.get("__metadata__") or {}, tensors, header, name)


def _load_bytes_without(data, n, header, skip, st_load):
    """Load every tensor of the safetensors bytes ``data`` except those named in ``skip``."""
    keep = {k: v for k, v in header.items() if k != "__metadata__" and k not in skip}
    body, offset, new_header = [], 0, {}
    for k in sorted(keep, key=lambda k: keep[k]["data_offsets"][0]):
        start, end = keep[k]["data_offsets"]
        body.append(data[8 + n + start:8 + n + end])
        new_header[k] = dict(keep[k], data_offsets=[offset, offset + end - start])
        offset += end - start
    raw = json.dumps(new_header).encode()
    raw += b" " * (-len(raw) % 8)
    blob = struct.pack("<Q", len(raw)) + raw + b"".join(body)
    return {k: _owned(v) for k, v in st_load(blob).items()}


def _build(metadata, tensors, header, name):
    if STRUCTURE_KEY not in metadata:
        # a plain safetensors file (another tool): a dict of name -> tensor, in file order
        order = sorted((k for k in header if k != "__metadata__"),
                       key=lambda k: header[k]["data_offsets"][0])
        return {k: _make(tensors[k]) for k in order}
    version = metadata.get(FORMAT_KEY, FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ValueError(f"{name} was written by a newer labkit (checkpoint format {version}, "
                         f"this labkit reads format {FORMAT_VERSION}); upgrade labkit")
    try:
        structure = json.loads(metadata[STRUCTURE_KEY])
    except (json.JSONDecodeError, TypeError) as e:
        raise ValueError(f"{name} is corrupted: its labkit structure metadata is not valid JSON "
                         f"({e})") from None
    except RecursionError:
        raise _corrupt(name, "is nested too deeply") from None
    return _decode(structure, tensors, name, {})

