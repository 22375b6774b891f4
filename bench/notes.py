"""The hand-written parts of docs/benchmarks.md: how each figure is defined, and what the analysis found.

The findings quote the full run and the profiling done for it (2026-11-24, 2 cores, langgraph 1.2.22). Check them
again after a change to the product: the table above them is regenerated on every run, they are not.
"""

METHOD = """## Method

**Project.** `bench/scenarios.py` scripts a project of n independent tasks. The manager plans in one call.
Each developer takes two calls. An agent's tool loop ends only on an answer without a tool call, so "one
developer call per task" is not possible: turn 1 writes the task's file with `write_file`, and turn 2 answers
"done". Each auditor answers in one call, with no tool call. A clean run makes `1 + 3n` model calls.
Every run uses `verify_depth="integrity"` (no verification command, no final model review) and the product's
own SQLite setup, `graph.runs.open_checkpointer` (WAL journal, as the CLI uses it). The LangGraph config holds
the thread id and `recursion_limit` 10000, and nothing else, as the CLI's `graph_config` does. Only
`graph.invoke` is timed; compiling the graph is not.

**Noise.** The machine has 2 cores and is shared with other test runs. So every ratio compares runs made
back to back in one process, with their order alternated between repeats, and the table shows the median of
the per-repeat ratios. Absolute milliseconds are shown for diagnosis only.

**Figure 1: parallel speed-up.** 16 tasks, 0.3 s per model call. The speed-up is the makespan (wall time of
`invoke`) at `RunContext.max_concurrency` 1 divided by the makespan at 8. The critical-path bound at
concurrency c, for n tasks at latency L, is

    bound(c) = L * 1  +  max(L * 3n / c,  L * 3)

The plan call runs before any branch can start. After it, the 3n branch calls (n developer runs of 2 calls
and n reviews of 1 call) can at best be spread evenly over c agents. They can never take less than the
longest dependency chain, which is one task's 2 developer calls and then its 1 review call. For 16 tasks at
0.3 s, bound(1) = 14.7 s and bound(8) = 2.1 s. The two diagnostic rows repeat the c = 8 run with LangGraph's
own thread pool set to 8 (`config["max_concurrency"] = 8`); see the findings.

**Figure 2: orchestration overhead.** 16 tasks at 0.05 s per call, run serially. buildcrew runs at
`max_concurrency` 1, so no two model calls overlap. The framework time per call is
`(wall - calls * latency) / calls`. The baseline (`bench/bare.py`) is a bare LangGraph tool loop: a
`StateGraph` with a model node, a hand-written tool node and a router. It runs the same agents (the manager's
plan call, then each task's developer and auditor, with the same prompts and tool sets) over the same scripted
model, on the same SQLite setup. It writes the same files through the same `ToolBox` (workspace jail,
verified writes, audit trail). It makes the same `1 + 3n` calls, and both call counts are checked.

**Figure 3: prompt growth.** A recording subclass of the scripted model keeps what each developer's first
call receives: the characters of the messages (system prompt and task prompt) plus the characters of the
tool schemas bound to the call. The figure compares task `t0000` in a 5-task and a 100-task project, with
fixed-width task ids.

**Figure 4: checkpoint growth.** Runs of 10, 100 and 300 tasks, each in a fresh `python -m bench.child`
process, at `max_concurrency` 8 and 0 s latency. The size is that of `checkpoints.sqlite` (plus `-wal`, if
one is left) after the connection has closed, divided by the number of tasks. Growth between sizes n1 < n2
with database sizes B1, B2 is the exponent `k = ln(B2/B1) / ln(n2/n1)`: 1 is linear (constant bytes per
task), 2 is quadratic. The target is judged on the two largest sizes, because at 10 tasks fixed per-run
costs dominate.

**Figure 5: memory.** The peak RSS of the 300-task child process is read from its own `VmHWM` in
`/proc/self/status`. ru_maxrss is not used, and neither is `RUSAGE_CHILDREN`: Linux carries a process's
ru_maxrss over `exec`, so a child started from the benchmark process reports the parent's peak if that is
higher. A fresh `python -c` started from a 321 MB parent reported ru_maxrss 321 MB while its VmHWM was 13.5 MB.
"""

FINDINGS = """## Findings

Measured 2026-11-24 on the machine above. The full run took about 2 minutes. Two targets were missed, and each
has a single cause in the product code.

### Figure 1 missed: LangGraph's default thread pool has 6 threads on this machine

The scheduler did its part. It sent waves of 8 branches. But LangGraph runs a superstep's branches on a
`ThreadPoolExecutor` sized by `config["max_concurrency"]`. buildcrew never sets that, so the pool takes
Python's default size, `min(32, os.cpu_count() + 4)`, which is 6 threads on 2 cores. A wave of 8 branches
therefore runs as 6 branches and then 2 more. For 16 tasks at 0.3 s that predicts
0.3 + 2 x (2 x 0.6 + 2 x 0.3) = 3.9 s. The measured makespan was 4.06 s, 1.93x the 2.1 s bound, for a 3.73x
speed-up. The same run with the pool set to 8 took 2.36 s: 1.13x the bound and a 6.41x speed-up, so both
targets are met. The cap depends on the machine: it is 6 threads here, 8 on 4 cores and 12 on 8 cores. So
any `max_concurrency` above `nproc + 4` silently runs at `nproc + 4`, while the state marks the whole wave
as running.

**Fix, in `graph/builder.py`, `build_graph`:** return the compiled graph with a pool large enough for any
wave, for example
`return builder.compile(...).with_config(max_concurrency=MAX_AGENT_THREADS)` with `MAX_AGENT_THREADS = 64`.
`Pregel.with_config` returns a `CompiledStateGraph`, and a caller's own `config["max_concurrency"]` still
overrides it. Threads are created only when they are needed, so a large cap costs nothing. Then either
validate `RunContext.max_concurrency <= MAX_AGENT_THREADS` in `RunContext.__post_init__`, or have
`graph/runs.py` `graph_config` set `"max_concurrency": max(MAX_AGENT_THREADS, context.max_concurrency)`.
A pool equal to c was enough: the checkpoint writes share the pool but run between supersteps. Putting it in
`build_graph` and not only in the CLI's config covers Studio, the SDK, notebooks and the tests as well.

### Figure 4 missed: every checkpoint re-serializes the whole state

`SqliteSaver.put` stores a checkpoint's complete `channel_values` every time. It has no per-channel blob
table, so even channels that did not change are written again. Reducer channels hold their whole
accumulated value. A run at concurrency c takes 2 supersteps per wave and about 2n/c waves (developers,
then reviews), so it writes about 4n/c + 6 checkpoints (158 at n = 300, c = 8). Each checkpoint holds the
whole state, which also grows linearly with n. The total is therefore O(n^2 / c): 26.8, 63.4 and 158 KB per
task at 10, 100 and 300 tasks, with a growth exponent of 1.83 from 100 to 300. At 300 tasks the last
checkpoint held `tasks` 107 KB, `proposed_plan` 100 KB, `files_created` 86 KB and `usage` 83 KB. The
`writes` table is linear: 1.0 MB of 46 MB.

**Fix, in two parts. Both are needed.** A scratch prototype patched the state schema and the node at
runtime, with no product file edited. It measured:

| variant | KB per task at 10 / 100 / 300 tasks | k (100 -> 300) |
|---|---|---|
| as is | 25.6 / 62.4 / 156.8 | 1.84 |
| 1 only (DeltaChannel) | 17.6 / 27.6 / 60.7 | 1.72 |
| 2 only (clear proposed_plan) | 22.4 / 44.8 / 106.3 | 1.79 |
| 1 and 2 | 14.4 / 9.9 / 10.1 | 1.02 |

1. `state/team_state.py` with `state/reducers.py`: declare the five reducer channels (`tasks`, `callbacks`,
   `files_created`, `errors`, `usage`) as `Annotated[..., DeltaChannel(batched(merge_tasks))]` and so on,
   from `langgraph.channels.delta`. `batched(r)` folds the existing reducer over the batch,
   `lambda state, writes: functools.reduce(r, writes, state)`. That is batching-invariant, as DeltaChannel
   requires. A checkpoint then stores only the superstep's writes (which the writes table already holds) and
   a full snapshot every 100 updates. `DeltaChannel.from_checkpoint` is documented to load a plain value,
   which is its migration path from `BinaryOperatorAggregate`, so runs checkpointed before the change should
   still resume. That path was not tested here. In the prototype, resuming from a checkpoint taken before
   `final_verify` passed, and `get_state` gave back the same `tasks`, `usage` and `files_created`.
   Caveat: DeltaChannel is marked beta in LangGraph. It exists in the installed 1.2.22, so raise the
   `langgraph>=1.2` floor in `pyproject.toml` to the version that was tested.
2. `graph/approval.py`, `approve_plan`: once the plan is adopted into `tasks`, also return
   `"proposed_plan": None`, in both the "approve" and the "edit" branches and on the no-approval path. It
   is a plain `LastValue` channel, and it otherwise repeats the whole plan in every checkpoint of the run.
   It is read only while planning (`graph/plan.py`), before adoption.

### Figures met, and the costs behind them

- **Overhead (figure 2), 0.97x the bare loop.** buildcrew runs an agent's whole tool loop inside one graph
  node. At c = 1 it therefore takes 4 supersteps, each with its checkpoint, per task (`schedule`, `develop`,
  `schedule`, `audit`), however many tool turns there are. The bare loop takes one superstep per model call
  and one per tool call, plus an input checkpoint for each agent run: 6 per task here. buildcrew spends the
  time this saves on its audit trail and scheduler. Per-function timers on a serial 300-task run
  attributed the work, per model call, as follows. Checkpoint puts and writes run on background threads and
  overlap the nodes, so they are not all wall time.
  - `SqliteSaver.put` 12.5 ms and `put_writes` 7.8 ms. These grow with n, from 4.8 ms to 9.3 ms per put
    between 100 and 300 tasks, for the same cause as figure 4, and the same fix removes it.
  - `AuditTrail.append` 3.9 ms: 7 fsynced events per task at about 1.7 ms each.
  - `bind_tools` 2.9 ms: the tool schemas (8 for a developer, 4 for an auditor) are rebuilt through pydantic
    for every agent run, at 4-5 ms per agent run.
  - The `schedule` node 2.2 ms, of which the fixed part is `node_env` path resolution and one fsynced event.

  In the figure 4 runs (c = 8, 0 s latency), framework time per call rose from 5.5 ms to 6.0 ms between 10
  and 300 tasks (7.5 ms in an earlier, busier run). Optional improvements, none needed for a target:
  - cache the OpenAI tool schemas, which are the same for every `ToolBox`
    (`tools/agent_tools.py` `ToolBox.tools`, or `graph/scripted.py` `bind_tools` for the scripted model);
  - in `graph/schedule.py` `_next_wave`, slice the ready tasks to `max_concurrency` before calling
    `model_copy`. Today every pending task is copied at every superstep, and then all but c are thrown away;
  - in `graph/develop.py` `develop`, `file_count = len(env.workspace.list())` walks the whole workspace at
    every task end. That is O(files) per task, 1.8 ms at 300 files.
- **Prompt growth (figure 3), 1.00x.** A developer sees only its own task (`graph/prompts.py`
  `task_prompt`). The first prompt is 4478 characters in both projects: 821 of messages and 3657 of tool
  schemas. The largest first prompt of any developer differs only by the digits of its own task id.
- **Memory (figure 5), 101 MB at 300 tasks**, against 79 MB after imports. The run itself adds about 22 MB.
"""
