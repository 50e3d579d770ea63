# --------------------------------------------------------------------------
# Arrow record batches and Parquet, with pyarrow (an optional extra).
#
# A batch is what one fill wrote: the packets' bytes become the data buffer
# of the binary column as they are, and the time stamps, lengths and data
# offsets are written as columns by the fill itself (_next_columns), or, for
# the wide records of pcapng and of several interfaces, split out of the
# records in C (batch_columns); no Python object is made per packet.

cdef object _pyarrow(str what):
    import importlib
    try:
        return importlib.import_module("pyarrow")
    except ImportError:
        raise ModuleNotFoundError(f"{what} needs the 'pyarrow' package (pip install pyarrow, "
                                  f"or the arrow extra: pip install 'pcap[arrow]')", name="pyarrow") from None


cdef bint _arrow_interfaces(pcap h):
    """Whether the Arrow batches of h carry interface_id and flags: a
    pcapng source's, or those of several interfaces or savefiles."""
    return isinstance(h._src, (_PcapngSource, _MultiSource))


cdef tuple _arrow_options(object fields, object data, object addresses, object community_id_seed):
    """(field names or None, whether the data column, "binary" or "text",
    the Community ID's seed or -1) of arrow_batches()' keywords."""
    cdef tuple names = _fields_arg(fields)
    cdef bint keep_data = _bool_arg(data, "data")
    if addresses not in ("binary", "text"):
        raise ValueError(f"addresses must be 'binary' or 'text', not {addresses!r}")
    if names is None and not keep_data:
        raise ValueError("data=False leaves only timestamp, caplen and wirelen: ask for fields too")
    seed = _seed_arg(community_id_seed)
    return names, keep_data, addresses, seed if names is not None and "community_id" in names else -1


cdef tuple _NO_FIELDS = (None, True, "binary", -1)


cdef object _arrow_schema(pa, pcap h, tuple options=_NO_FIELDS):
    cdef lp.pcap_t *p = h._handle()
    cdef int dlt = lp.pcap_datalink(p)
    names, keep_data, addresses, seed = options
    name = _text(lp.pcap_datalink_val_to_name(dlt)) if lp.pcap_datalink_val_to_name(dlt) != NULL else ""
    fields = [("timestamp", pa.timestamp("ns", tz="UTC")), ("caplen", pa.uint32()), ("wirelen", pa.uint32())]
    if keep_data:
        fields.append(("data", pa.binary()))
    metadata = {"pcap.linktype": str(dlt), "pcap.linktype_name": name,
                "pcap.snaplen": str(lp.pcap_snapshot(p)), "pcap.source": h._name}
    if h.tstamp_type is not None:
        metadata["pcap.tstamp_type"] = h.tstamp_type
    if _arrow_interfaces(h):
        import json
        fields += [("interface_id", pa.uint32()), ("flags", pa.uint32()), ("comment", pa.string())]
        metadata["pcap.interfaces"] = json.dumps([
            {"index": i.index, "name": i.name, "linktype": i.linktype, "linktype_name": i.linktype_name,
             "snaplen": i.snaplen, "tsresol": i.tsresol} for i in h._src.interfaces()])
    if names is not None:
        fields += _fields_arrow_fields(pa, names, addresses)
        metadata["pcap.fields_addresses"] = "ipv6 (IPv4 as ::ffff:a.b.c.d), 16 bytes" if addresses == "binary" \
            else "text"
        if seed >= 0:
            metadata["pcap.community_id_seed"] = str(seed)
    return pa.schema(fields, metadata=metadata)


cdef object _arrow_batch(pa, schema, tuple options, bytearray records, bytearray data, bytearray comments,
                         _FieldsOut fields):
    """The batch of next_batch()'s wide records (a pcapng source's, or of
    several interfaces): with interface_id, flags and comment after the
    data column."""
    cdef Py_ssize_t n = PyByteArray_GET_SIZE(records) // sizeof(batch_record_ng)
    cdef bytearray stamps = PyByteArray_FromStringAndSize(NULL, n * 8)
    cdef bytearray caplens = PyByteArray_FromStringAndSize(NULL, n * 4)
    cdef bytearray wirelens = PyByteArray_FromStringAndSize(NULL, n * 4)
    cdef bint keep_data = options[1]
    cdef bytearray offsets = PyByteArray_FromStringAndSize(NULL, (n + 1) * 4) if keep_data else None
    cdef bytearray ids = PyByteArray_FromStringAndSize(NULL, n * 4)
    cdef bytearray flags = PyByteArray_FromStringAndSize(NULL, n * 4)
    cdef bytearray comment_offsets = PyByteArray_FromStringAndSize(NULL, (n + 1) * 4)
    cdef bytearray comment_valid = PyByteArray_FromStringAndSize(NULL, (n + 7) // 8)
    cdef Py_ssize_t with_comments
    batch_columns(<const unsigned char *>PyByteArray_AS_STRING(records), n, sizeof(batch_record_ng),
                  <int64_t *>PyByteArray_AS_STRING(stamps), <uint32_t *>PyByteArray_AS_STRING(caplens),
                  <uint32_t *>PyByteArray_AS_STRING(wirelens),
                  <int32_t *>PyByteArray_AS_STRING(offsets) if keep_data else NULL,
                  <uint32_t *>PyByteArray_AS_STRING(ids), <uint32_t *>PyByteArray_AS_STRING(flags))
    with_comments = batch_comment_column(<const unsigned char *>PyByteArray_AS_STRING(records), n,
                                         <int32_t *>PyByteArray_AS_STRING(comment_offsets),
                                         <unsigned char *>PyByteArray_AS_STRING(comment_valid))
    columns = _arrow_columns(pa, schema, options, n, stamps, caplens, wirelens, offsets, data, fields)
    buf = pa.py_buffer
    at = 4 if keep_data else 3
    columns[at:at] = [pa.Array.from_buffers(pa.uint32(), n, [None, buf(ids)]),
                      pa.Array.from_buffers(pa.uint32(), n, [None, buf(flags)]),
                      pa.Array.from_buffers(pa.string(), n, [buf(comment_valid), buf(comment_offsets), buf(comments)],
                                            null_count=n - with_comments)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


cdef list _arrow_columns(pa, schema, tuple options, Py_ssize_t n, bytearray stamps, bytearray caplens,
                         bytearray wirelens, bytearray offsets, bytearray data, _FieldsOut fields):
    """A batch's columns but those of wide records: timestamp, caplen,
    wirelen, data (offsets not None), then the fields."""
    buf = pa.py_buffer
    columns = [pa.Array.from_buffers(schema.field(0).type, n, [None, buf(stamps)]),
               pa.Array.from_buffers(pa.uint32(), n, [None, buf(caplens)]),
               pa.Array.from_buffers(pa.uint32(), n, [None, buf(wirelens)])]
    if offsets is not None:
        columns.append(pa.Array.from_buffers(pa.binary(), n, [None, buf(offsets), buf(data)]))
    if options[0] is not None:
        columns += fields.arrow_columns(pa, n)
    return columns


_ARROW_DELTA_KEYS = ("pcap.received_delta", "pcap.dropped_delta", "pcap.ifdropped_delta")


def _arrow_batches(pcap h, int cnt, Py_ssize_t max_bytes, tuple options=_NO_FIELDS):
    pa = _pyarrow("arrow_batches()")
    cdef bint wide = _arrow_interfaces(h)
    names, keep_data, addresses, seed = options
    cdef _FieldsOut fields = None
    while True:
        if names is not None:
            fields = _FieldsOut.columns(names, addresses, cnt, seed)
        if wide:
            out = h._next_batch(cnt, max_bytes, wide, keep_data, fields)
            n = PyByteArray_GET_SIZE(out[0])
        else:
            out = h._next_columns(cnt, max_bytes, keep_data, fields)
            n = out[0]
        if not n:
            # The end, a break or close(), or on a live handle no packet
            # within timeout_ms or (nonblocking) none pending: as readpkts()
            # returns [], the iterator ends, rather than asking again at once.
            return
        # (The schema after each batch: a pcapng file's interfaces so far.)
        schema = _arrow_schema(pa, h, options)
        if h._batch_stats is not None:
            # How libpcap's counters changed over this batch (pcap.batch_stats).
            metadata = dict(schema.metadata)
            for key, value in zip(_ARROW_DELTA_KEYS, h._batch_stats):
                metadata[key] = str(value)
            schema = schema.with_metadata(metadata)
        if wide:
            yield _arrow_batch(pa, schema, options, out[0], out[1], out[2], fields)
        else:
            yield pa.RecordBatch.from_arrays(_arrow_columns(pa, schema, options, n, out[1], out[2], out[3], out[4],
                                                            out[5], fields), schema=schema)


def to_parquet(source, where, cnt=65536, *, fields=None, data=True, addresses="binary", community_id_seed=0,
               **options):
    """to_parquet(source, where, cnt=65536, *, fields=None, data=True, addresses="binary", community_id_seed=0, **options) -> int

    Write the packets of ``source`` (a savefile path, a file object, or an
    open pcap handle, read to its end) to the Parquet file ``where`` (a path
    or a file object), one row group per ``cnt`` packets, with the columns
    and metadata of pcap.arrow_batches() (and its ``fields``, ``data``,
    ``addresses`` and ``community_id_seed``); ``options`` go to
    pyarrow.parquet.ParquetWriter (compression="zstd"...).  Returns the
    number of packets written.  Needs pyarrow.
    """
    _pyarrow("to_parquet()")
    _int_arg(cnt, "cnt", 1, C_INT_MAX)
    columns = dict(fields=fields, data=data, addresses=addresses, community_id_seed=community_id_seed)
    _arrow_options(fields, data, addresses, community_id_seed)
    import pyarrow.parquet as pq
    h = source if isinstance(source, pcap) else pcap(source)
    n = 0
    try:
        writer = None
        for batch in h.arrow_batches(cnt, **columns):
            if writer is None:
                # (The file's schema without the first batch's counts.)
                writer = pq.ParquetWriter(where, batch.schema.with_metadata(
                    {k: v for k, v in batch.schema.metadata.items() if k.decode() not in _ARROW_DELTA_KEYS}),
                    **options)
            writer.write_batch(batch)
            n += batch.num_rows
        if writer is None:       # no packet: an empty file with the schema
            pa = _pyarrow("to_parquet()")
            writer = pq.ParquetWriter(where, _arrow_schema(pa, h, _arrow_options(fields, data, addresses,
                                                                                 community_id_seed)), **options)
        writer.close()
    finally:
        if h is not source:
            h.close()
    return n
