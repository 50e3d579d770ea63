# --------------------------------------------------------------------------
# asyncio: ``async for`` over a handle.

async def _async_packets(pcap handle):
    """The packets of ``handle`` for ``async for``: never blocks the loop."""
    import asyncio as _asyncio     # here, not at the top: importing asyncio costs ~20 ms
    loop = _asyncio.get_running_loop()
    n = 0
    while True:
        pkt = handle._poll_packet()
        if pkt is False:
            return
        if pkt is not None:
            yield pkt
            n += 1
            if n % 256 == 0:
                await _asyncio.sleep(0)    # let other tasks run on a busy link or a long file
            continue
        # Nothing there yet: only sources that can wait say so, and they
        # have a descriptor to wait on.
        ready = loop.create_future()
        def wake(ready=ready):
            if not ready.done():
                ready.set_result(None)
        def wake_threadsafe(wake=wake):
            loop.call_soon_threadsafe(wake)
        fd = handle.fileno()
        loop.add_reader(fd, wake)
        handle._wake = wake_threadsafe
        try:
            await ready
        finally:
            handle._wake = None
            loop.remove_reader(fd)
