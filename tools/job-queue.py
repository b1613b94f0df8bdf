#!/usr/bin/env python3
"""job-queue.py FERRODIS_BIN [REDIS_BIN]

Runs one deterministic BullMQ workload (the Python port of BullMQ: its own client and
its ~60 Lua scripts, the same scripts the Node library ships) against ferrodis and
against redis-server (default: redis-server from PATH), each started here on a free
port, then compares what the library reports. Prints both summaries' digest, the
differences if any, and exits 1 when they differ.

The workload, in one process, with one worker (concurrency 1) so that the order jobs
are processed in is the servers' decision alone:
  - 40 jobs with Queue.add: plain, prioritized (1..4), custom job ids, jobs that fail
    once or always (attempts 3, no backoff delay), jobs kept off the completed set
    (removeOnComplete), and long-delayed jobs (promoted later, never by the clock);
  - 20 more with Queue.addBulk; a FlowProducer flow (a parent waiting for 3 children);
  - a changePriority, a job removed before it runs, progress updates and job logs from
    the processor;
  - pause, counts while paused, resume; promoteJobs for the delayed jobs; retryJobs
    for the failed ones; clean of some completed jobs.
The summary holds, for every job: id, name, state, return value, attempts made, failed
reason, progress, priority, log lines; the counts per state at each step; and the
order jobs were processed in. Timestamps are left out.

Needs: pip install bullmq (it brings redis-py).
"""
import asyncio
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from bullmq import FlowProducer, Job, Queue, Worker

STATES = ["waiting", "active", "completed", "failed", "delayed", "prioritized", "waiting-children", "paused"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(binary):
    port = free_port()
    d = tempfile.mkdtemp(prefix="jobq-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", d],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port, d
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{binary} did not start")


async def wait_until(what, cond, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if await cond():
            return
        await asyncio.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


async def workload(port):
    conn = f"redis://127.0.0.1:{port}"
    q = Queue("jobs", {"connection": conn})
    await q.obliterate(force=True)
    summary = {"counts": {}, "order": []}
    order = summary["order"]

    async def counts(step):
        summary["counts"][step] = await q.getJobCounts(*STATES)

    for i in range(40):
        opts = {}
        data = {"idx": i}
        if i % 5 == 1:
            opts["priority"] = 1 + i % 4
        if i % 7 == 2:
            opts["jobId"] = f"custom-{i}"
        if i % 6 == 3:
            data["fail"] = "once"
            opts["attempts"] = 3
        if i % 11 == 4:
            data["fail"] = "always"
            opts["attempts"] = 2
        if i % 9 == 5:
            opts["removeOnComplete"] = True
        if i % 10 == 6:
            opts["delay"] = 3_600_000
        await q.add("email" if i % 2 else "resize", data, opts)
    await q.addBulk([{"name": "bulk", "data": {"idx": 100 + i}, "opts": {"priority": i % 3}} for i in range(20)])
    flow = FlowProducer({"connection": conn})
    await flow.add(
        {
            "name": "parent",
            "queueName": "jobs",
            "data": {"idx": 200},
            "opts": {"jobId": "flow-parent"},
            "children": [
                {"name": "child", "queueName": "jobs", "data": {"idx": 201 + c}, "opts": {"jobId": f"flow-child-{c}"}}
                for c in range(3)
            ],
        }
    )
    await flow.close()
    await counts("added")

    job = await q.getJob("custom-9")
    if job:
        await job.changePriority({"priority": 1})
    await q.remove("custom-16")
    await q.pause()
    await counts("paused")
    await q.resume()

    async def process(job, token):
        order.append(job.id)
        await job.updateProgress(50)
        await job.log(f"run {job.attemptsMade}")
        fail = job.data.get("fail")
        if fail == "always" or (fail == "once" and job.attemptsMade == 0):
            raise Exception(f"failing {job.data['idx']}")
        if job.name == "parent":
            values = await job.getChildrenValues()
            return sum(values.values())
        return job.data["idx"] * 2

    worker = Worker("jobs", process, {"connection": conn, "concurrency": 1})

    async def settled():
        c = await q.getJobCounts(*STATES)
        return c["waiting"] == 0 and c["active"] == 0 and c["prioritized"] == 0 and c["waiting-children"] == 0

    await wait_until("the first round", settled)
    await counts("first round")
    await q.promoteJobs()
    await wait_until("promoted jobs", settled)
    await counts("promoted")
    await q.retryJobs({"state": "failed"})
    await wait_until("retried jobs", settled)
    await counts("retried")
    await q.clean(0, 5, "completed")
    await counts("cleaned")
    await worker.close()

    jobs = {}
    for state in STATES:
        for j in await q.getJobs([state], 0, -1, True):
            logs = await q.getJobLogs(j.id)
            jobs[j.id] = {
                "name": j.name,
                "state": state,
                "data": j.data,
                "returnvalue": j.returnvalue,
                "attemptsMade": j.attemptsMade,
                "failedReason": j.failedReason,
                "progress": j.progress,
                "priority": j.priority,
                "logs": logs.get("logs") if isinstance(logs, dict) else logs,
            }
    summary["jobs"] = dict(sorted(jobs.items()))
    await q.obliterate(force=True)
    await q.close()
    return summary


def run(binary):
    proc, port, d = start(binary)
    try:
        return asyncio.run(workload(port))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        raise SystemExit(2)
    ours = run(sys.argv[1])
    theirs = run(sys.argv[2] if len(sys.argv) > 2 else shutil.which("redis-server") or "redis-server")
    for name, s in (("ferrodis", ours), ("redis-server", theirs)):
        text = json.dumps(s, sort_keys=True)
        print(f"{name}: {len(s['jobs'])} jobs, {len(s['order'])} runs, "
              f"final counts {s['counts']['cleaned']}, digest {hashlib.sha1(text.encode()).hexdigest()}")
    if ours == theirs:
        print("identical")
        return
    for key in ("counts", "order"):
        if ours[key] != theirs[key]:
            print(f"{key} differ:\n  ferrodis     {ours[key]}\n  redis-server {theirs[key]}")
    for jid in sorted(set(ours["jobs"]) | set(theirs["jobs"])):
        a, b = ours["jobs"].get(jid), theirs["jobs"].get(jid)
        if a != b:
            print(f"job {jid}:\n  ferrodis     {a}\n  redis-server {b}")
    raise SystemExit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
