"""The three ways of sending the welcome mail, side by side.

Read them in order and diff them: `sync.py` -> `thread.py` -> `broker.py`.
Each has the same shape: a class whose `handle(job)` returns what the user sees.
It runs on an HTTP handler thread; broker.py's is a coroutine (`async def`) that
awaits the broker's confirm on the server's event loop, holding no thread. The
slow job itself (`MailJob.run`: virus scan, then SMTP) is the same in all three;
only where it runs changes.
In broker mode it runs in separate worker processes: `worker.py`.
"""
