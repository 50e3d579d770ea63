# --------------------------------------------------------------------------
# Arguments: every value a caller passes in is checked here, by one rule a
# kind, and refused with an error that names the argument.  Names and paths
# go through os.fsencode, filters are str or bytes, buffers any bytes-like
# object, numbers ints within a range, flags True or False (or 1 or 0).

cdef int _get_buffer(object obj, Py_buffer *view, int flags, str name) except -1:
    """PyObject_GetBuffer, with errors that name the argument."""
    try:
        PyObject_GetBuffer(obj, view, flags)
    except TypeError:
        raise TypeError(f"{name} must be a bytes-like object, not {type(obj).__name__}") from None
    except BufferError:
        if flags & PyBUF_WRITABLE:
            raise TypeError(f"{name} must be a writable buffer (bytearray, mmap, a numpy array...), "
                            f"not a read-only {type(obj).__name__}") from None
        raise
    return 0


cdef bytes _encode_name(object name, str what):
    """str, bytes or os.PathLike -> bytes with no NUL."""
    cdef bytes b
    try:
        b = _os.fsencode(name)
    except TypeError:
        raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type(name).__name__}") from None
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL byte: {name!r}")
    return b


cdef bytes _encode_filter(object expr):
    cdef bytes b
    if isinstance(expr, str):
        b = (<str>expr).encode("utf-8")
    elif isinstance(expr, (bytes, bytearray)):
        b = bytes(expr)
    else:
        raise TypeError(f"a filter expression must be str or bytes, not {type(expr).__name__}")
    if b"\0" in b:
        raise ValueError("filter expression contains a NUL byte")
    return b



# -- numeric arguments ---------------------------------------------------------
# One rule for every numeric argument: an int (or an object with __index__)
# within the argument's range, or TypeError / ValueError naming the argument
# and the range.  Nothing is clamped or wrapped silently.

cdef enum:
    C_INT_MAX = 2147483647
    MAXIMUM_SNAPLEN = 262144      # libpcap's largest snaplen (pcap-int.h)


cdef long long _int_arg(object value, str name, long long lo, long long hi,
                        str meaning=None) except? -1:
    """``value`` as a C integer in lo..hi; ``meaning`` is added to the range
    in the message ('0: no limit')."""
    cdef int overflow = 0
    cdef long long v
    if not PyIndex_Check(value):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    v = PyLong_AsLongLongAndOverflow(PyNumber_Index(value), &overflow)
    if overflow != 0 or v < lo or v > hi:
        too_small = overflow < 0 or (overflow == 0 and v < lo)
        limits = f"{lo} or more" if too_small and hi >= C_INT_MAX else f"{lo} to {hi}"
        if meaning:
            limits += f" ({meaning})"
        raise ValueError(f"{name} must be {limits}, not {value!r}")
    return v


cdef int _cnt_arg(object cnt) except? -2:
    """A packet count for dispatch() and the like: 0 or less is no limit."""
    if type(cnt) is int and -1 <= <object>cnt <= C_INT_MAX:
        return <int>cnt               # the common case, with no further call
    if not PyIndex_Check(cnt):
        raise TypeError(f"cnt must be an int, not {type(cnt).__name__}")
    cnt = PyNumber_Index(cnt)
    if cnt < 0:
        return -1
    if cnt <= C_INT_MAX:
        return <int>cnt
    raise ValueError(f"cnt must be at most {C_INT_MAX} (0 or less: no limit), not {cnt!r}")


# -- flags -------------------------------------------------------------------
# One rule for every boolean argument: True or False, numpy's bool, or the
# ints 1 and 0 that pypcap scripts pass (promisc=1).  Anything else raises
# TypeError (a str, None, a float) or ValueError (another int) naming the
# argument: setnonblock("no") must not turn nonblocking mode on by its truth.

cdef bint _bool_arg(object value, str name) except -1:
    if value is True:
        return True
    if value is False:
        return False
    cdef type t = type(value)
    if t.__module__ == "numpy" and t.__name__ in ("bool", "bool_"):
        return bool(value)
    if not PyIndex_Check(value) or isinstance(value, float):
        raise TypeError(f"{name} must be True or False, not {t.__name__}")
    cdef object v = PyNumber_Index(value)
    if v == 0 or v == 1:
        return v == 1
    raise ValueError(f"{name} must be True or False (or 1 or 0), not {value!r}")
