"""Run a search space of the study as a Ray Tune sweep: pretraining, then probing.

    python sweep/run.py --space augmentations                 # laptop profile, synthetic data, local Ray
    python sweep/run.py --space augmentations --dry-run       # what would run, and how much at once
    python sweep/run.py --space augmentations --resume        # continue an interrupted sweep
    python sweep/run.py --space masks --profile paper --address auto --storage s3://bucket/sweeps \\
        --data /mnt/data/pretrain-xxxx /mnt/data/downstream-yyyy

Results go to <storage>/<name>/ (plan.json, pretrain/, probe/ Tune experiments); the command
ends with the analysis command to run next.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python sweep/run.py` from a checkout
    sys.path.insert(0, str(ROOT))

from ecgmask.profiles import PROFILES, get_profile  # noqa: E402
from ecgmask.tasks import TASKS  # noqa: E402
from search_spaces import get_space, names  # noqa: E402
from search_spaces.plan import DEFAULT_SEEDS, SweepPlan  # noqa: E402
from sweep import checks  # noqa: E402
from sweep.checks import BadArgument  # noqa: E402
from sweep.help_keys import help_text  # noqa: E402
from sweep.tracking import TRACKERS  # noqa: E402


def _space_help() -> str:
    lines = []
    for name in names():
        lines.append(f"  {name}: {get_space(name).describe()}")
    return "\n".join(lines)


class OneLineParser(argparse.ArgumentParser):
    """argparse, with every refusal in one line (the usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def refuse(message: str) -> NoReturn:
    """A refused command, argparse-style: one line on stderr, exit status 2."""
    print(f"sweep/run.py: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def parse_args(argv=None) -> argparse.Namespace:
    parser = OneLineParser(
        prog="sweep/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="spaces (modules in search_spaces/):\n" + _space_help() + "\n\n" + help_text(),
    )
    parser.add_argument("--space", choices=names(), help="the search space to run [required, except with --resume --name, which reads it from plan.json]")
    parser.add_argument("--profile", choices=sorted(PROFILES), help="sizes: laptop (the study on 2 cores), smoke (checks the pipeline in minutes; measures nothing) or paper (the method's own) [laptop]")
    parser.add_argument(
        "--data",
        nargs=2,
        metavar=("PRETRAIN_CACHE", "DOWNSTREAM_CACHE"),
        help="cache directories (from sweep/prepare.py), on a path every node can see "
        "[default: the synthetic study, built on first use under ./.cache/ecgmask/<profile>]",
    )
    parser.add_argument("--storage", default="./results", help="where sweeps are written: a local path, an NFS mount or s3://bucket/prefix [./results]")
    parser.add_argument("--name", help="the sweep's name, a folder under --storage [<space>-<profile>-<date-time>; with --resume the latest]")
    parser.add_argument(
        "--address",
        default=os.environ.get("RAY_ADDRESS"),
        help="a running Ray cluster (auto, host:6379, ray://host:10001) [RAY_ADDRESS, else start a local one]",
    )
    parser.add_argument("--auth-mode", choices=("disabled", "token"), help="RAY_AUTH_MODE [the environment's; disabled for a local cluster]")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local cluster [all]")
    parser.add_argument("--gpus-per-trial", type=float, help="GPU fraction per pretraining (or searched) trial [0.25 when the cluster has GPUs, else 0]")
    parser.add_argument("--gpus-per-probe", type=float, help="GPU fraction per probe trial [0.1 when the cluster has GPUs, else 0]")
    parser.add_argument("--cpus-per-trial", type=float, help="CPUs per trial (torch threads) [1; with GPUs the trial's share of a node]")
    parser.add_argument("--max-concurrent", type=int, help="at most this many trials at once [as many as fit]")
    parser.add_argument("--seeds", help=f"comma-separated seeds [{','.join(map(str, DEFAULT_SEEDS))}]")
    parser.add_argument("--rows", help="only these rows, comma-separated (e.g. scratch,advmask)")
    parser.add_argument("--tasks", help=f"only these tasks, comma-separated, of ecgmask/tasks.py ({','.join(TASKS)}); "
                        "a task the space does not probe is probed like its first one [the space's]")
    parser.add_argument("--fractions", help="only these label fractions, comma-separated")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting: pretrain.<PretrainConfig field>, probe.<ProbeConfig field> or profile.<Profile field> "
                        "(an undotted key is a profile field), e.g. --set pretrain.lr=3e-4 --set probe.lr=0.01 --set profile.epochs=10; repeatable")
    parser.add_argument("--config", metavar="FILE.yaml", help="settings from a YAML file, the same keys as --set (nested `pretrain: {lr: 3.0e-4}` or dotted); --set wins")
    parser.add_argument("--tracker", choices=list(TRACKERS), help="also log every trial to MLflow or W&B, offline (pip install -e '.[track]') [TensorBoard, JSON and CSV files only]")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI [a file store in the sweep: <sweep>/mlruns]")
    parser.add_argument("--wandb-project", help="W&B project of --tracker wandb [$WANDB_PROJECT, else ecgmask]")
    parser.add_argument("--wandb-entity", help="W&B entity (user or team) of --tracker wandb [$WANDB_ENTITY, else your default]")
    parser.add_argument("--no-dashboard", action="store_true", help="start the local cluster without the Ray dashboard [on, at http://127.0.0.1:8265 or the next free port]")
    parser.add_argument("-v", "--verbose", action="store_true", help="Tune's full output (progress table, Ray's logs, the trials' output) on the terminal too [only in <sweep>/sweep.log]")
    parser.add_argument("--checkpoint-every", type=int, default=1, help="pretraining checkpoints every k epochs (and the last) [1]")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted sweep of this --storage/--name: finished trials are not run again; "
                        "`--resume --name X` alone takes every option from X's plan.json, and an option given as well must match it")
    parser.add_argument("--list", action="store_true", help="print the sweeps under --storage with their state (finished, interrupted, running and its driver), then stop")
    parser.add_argument("--dry-run", action="store_true", help="print the plan (every pretraining trial, probe counts per row, task and fraction), "
                        "the resources per trial, how many run at once and an estimate of the wall time from steps measured here, then stop")
    parser.add_argument("--quiet", action="store_true", help="no Tune progress table")
    args = parser.parse_args(argv)
    if args.space is None and not args.list and not (args.resume and args.name):
        if args.resume:  # which sweep? the storage's sweeps say
            return args
        parser.error("the following arguments are required: --space (or --resume --name X, or --list)")
    return args


def _csv(text: str | None, cast=str) -> list | None:
    return None if text is None else [cast(t.strip()) for t in text.split(",") if t.strip()]


def given_data(args) -> dict | None:
    """The caches given by --data, as absolute paths (None: the default synthetic study)."""
    if not args.data:
        return None
    return {"pretrain": os.path.abspath(args.data[0]), "downstream": os.path.abspath(args.data[1])}


def default_data(profile) -> dict:
    """The synthetic study's caches, built on first use."""
    from ecgmask.data import default_study
    from sweep.prepare import study_root

    root = study_root(profile.name).resolve()
    print(f"data: the synthetic study under {root} (built on first use)", flush=True)
    study = default_study(root, profile)
    return {"pretrain": str(Path(study["pretrain"]).resolve()), "downstream": str(Path(study["downstream"]).resolve())}


def print_results(sweep_dir: str) -> None:
    """Table 1, then the dataset-size curves and the mask figure under <sweep>/figures.

    The trials' results are already stored: a failure here is reported, never fatal.
    """
    from analysis.make_curves import make_curves
    from analysis.make_table1 import render_table1
    from analysis.plot_masks import main as plot_masks_main
    from analysis.plot_pretrain_loss import plot_pretrain_loss, pretrain_history

    from sweep.store.layout import SweepLayout, is_uri

    figures = SweepLayout(sweep_dir).figures
    figures = figures if is_uri(figures) else Path(figures)  # a bucket's figures: the curves go there
    try:
        print(render_table1([str(sweep_dir)]))
    except Exception as err:
        print(f"(no Table 1: {type(err).__name__}: {err})")
    try:
        paths = make_curves([str(sweep_dir)], figures)
        print("curves: " + ", ".join(str(p) for p in paths))
    except Exception as err:
        print(f"(no curves: {type(err).__name__}: {err})")
    try:
        print(f"pretraining loss: {plot_pretrain_loss(pretrain_history(sweep_dir), figures)}")
    except Exception as err:
        print(f"(no pretraining loss figure: {type(err).__name__}: {err})")
    try:
        plot_masks_main(["--sweep", str(sweep_dir), "--out", str(figures)])
    except Exception as err:
        print(f"(no mask figure: {type(err).__name__}: {err})")


def default_name(storage: str, prefix: str, *, resume: bool) -> str:
    """A new sweep is `<space>-<profile>-<time>`; --resume without --name continues the latest."""
    from sweep.store.layout import SweepLayout, join
    from sweep.store import files as store

    if resume:
        earlier = [n for n in store.list_names(storage) if n.startswith(prefix + "-") and store.exists(SweepLayout(join(storage, n)).plan)]
        if not earlier:
            raise BadArgument(f"--resume: no {prefix}-* sweep under {storage} (pass --name)")
        return max(earlier)
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"


def sweeps_under(storage: str) -> list[str]:
    """The names of the sweeps (folders with a plan) under a storage."""
    from sweep.sweeps import sweep_names

    return sweep_names(storage)


def _as_text(value) -> str:
    """A stored setting as --set text that sweep.settings.cast reads back to the same value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def take_from_plan(args) -> None:
    """`--resume --name X`: every option not given is taken from X's plan.json (what the sweep
    ran under); an option given as well stays, and the resume check compares it."""
    from sweep.resume_guard import stored_in_force
    from sweep.store import files as store
    from sweep.store.layout import SweepLayout
    from sweep.store.layout import sweep_dir as sweep_dir_of

    try:
        stored = store.read_json(SweepLayout(sweep_dir_of(args.storage, args.name)).plan)
    except (OSError, ValueError) as err:
        raise BadArgument(str(err)) from None
    if stored is None:
        return  # check_command names the sweeps that are there
    was = stored_in_force(stored)
    if args.space is None:
        args.space = was.get("space") or stored.get("space")
    if args.profile is None:
        args.profile = was.get("profile") or stored.get("profile")
    if args.seeds is None and was.get("seeds"):
        args.seeds = ",".join(str(s) for s in was["seeds"])
    for option in ("rows", "tasks", "fractions"):
        if getattr(args, option) is None and was.get(option):
            setattr(args, option, ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in was[option]))
    if args.data is None and was.get("data"):
        args.data = [was["data"]["pretrain"], was["data"]["downstream"]]
    if not args.set and args.config is None:
        # the settings are stored once, in `in_force`: the profile values that differ from the
        # named profile, and the pretrain.* / probe.* settings as given
        named = PROFILES[args.profile].to_dict() if args.profile in PROFILES else {}
        settings = {"profile": {k: v for k, v in (was.get("set") or {}).items() if k in named and named[k] != v},
                    "pretrain": was.get("pretrain") or {}, "probe": was.get("probe") or {}}
        args.set = [f"{section}.{key}={_as_text(value)}" for section in ("profile", "pretrain", "probe")
                    for key, value in settings[section].items()]


@dataclass
class Command:
    """A command line that passed every check: what it runs, where, on what."""

    profile: object  # the resolved Profile
    overrides: dict
    seeds: tuple
    plan: SweepPlan
    name: str
    sweep_dir: str
    data: dict | None  # the caches given by --data (None: the default study)
    stored_plan: dict | None  # the sweep's plan.json (--resume)
    settings: object = None  # sweep.settings.Settings: every --set / --config in force
    tracking: object = None  # sweep.tracking.Tracking
    argv: list | None = None  # the command line, for the provenance record

    def in_force(self, data: dict | None) -> dict:
        """What the sweep runs under (sweep.resume_guard), with the pretrain.* / probe.* settings."""
        from sweep.resume_guard import in_force

        return {**in_force(plan=self.plan, profile=self.profile, data=data, seeds=self.seeds), **self.settings.run_settings()}


def check_command(args) -> Command:
    """Everything that can be checked before Ray starts; BadArgument names the first problem."""
    from sweep.store.layout import SweepLayout
    from sweep.store.layout import sweep_dir as sweep_dir_of
    from sweep.resume_guard import resume_differences
    from sweep.settings import SettingsError, parse, validate
    from sweep.tracking import Tracking, TrackingError
    from sweep.store import files as store

    from sweep.names import check_name

    if args.name is not None:
        check_name(args.name)  # before anything is read or written under --storage
    if args.resume and args.name is not None:
        take_from_plan(args)
    if args.space is None:  # --resume with no sweep named: which one?
        from sweep.sweeps import list_lines

        raise BadArgument("--resume: pass --name X (or --space) of the sweep to continue; " + "; ".join(line.strip() for line in list_lines(args.storage)))
    profile = get_profile(args.profile or "laptop")
    try:
        settings = parse(args.set, args.config)
    except SettingsError as err:
        raise BadArgument(str(err)) from None
    overrides = settings.profile
    profile = settings.resolve_profile(profile)
    checks.at_least("--max-concurrent", args.max_concurrent, 1)
    checks.at_least("--num-cpus", args.num_cpus, 1)
    checks.at_least("--checkpoint-every", args.checkpoint_every, 1)
    checks.at_least("--gpus-per-trial", args.gpus_per_trial, 0)
    checks.at_least("--gpus-per-probe", args.gpus_per_probe, 0)
    checks.positive("--cpus-per-trial", args.cpus_per_trial)
    seeds = checks.seeds(",".join(map(str, DEFAULT_SEEDS)) if args.seeds is None else args.seeds)
    plan = get_space(args.space).plan(profile.name, seeds)
    if plan.search is None:
        fractions = checks.fractions(args.fractions)
        try:
            plan = plan.select(rows=_csv(args.rows), tasks=_csv(args.tasks), fractions=fractions)
        except ValueError as err:
            raise BadArgument(str(err)) from None
    try:  # pretrain.* / probe.* into every trial, then every trial's configs and augmentation built once
        plan = settings.apply(plan)
        validate(plan, profile)
    except SettingsError as err:
        raise BadArgument(str(err)) from None
    checks.storage(args.storage)
    name = args.name or default_name(args.storage, f"{args.space}-{profile.name}", resume=args.resume)
    sweep_dir = sweep_dir_of(args.storage, name)
    tracking = Tracking(args.tracker, args.tracking_uri, wandb_project=args.wandb_project, wandb_entity=args.wandb_entity)
    try:
        tracking.check(sweep_dir)
    except TrackingError as err:
        raise BadArgument(str(err)) from None
    try:
        stored = store.read_json(SweepLayout(sweep_dir).plan)
    except (OSError, ValueError) as err:
        raise BadArgument(str(err)) from None
    if args.resume and stored is None:
        there = sweeps_under(args.storage)
        raise BadArgument(f"--resume: no sweep {name!r} under {args.storage} ({'sweeps there: ' + ', '.join(there) if there else 'no sweeps there'})")
    if not args.resume and stored is not None:
        raise BadArgument(f"--name {name}: a sweep already exists at {sweep_dir}; pass --resume to continue it or choose another --name")
    data = given_data(args)
    command = Command(profile=profile, overrides=overrides, seeds=seeds, plan=plan, name=name, sweep_dir=sweep_dir, data=data,
                      stored_plan=stored, settings=settings, tracking=tracking)
    if args.resume:
        refusal = resume_differences(stored, command.in_force(data))
        if refusal:
            raise BadArgument(refusal)
    if data is not None:  # after the resume check: a difference from plan.json is named first
        checks.caches_fit(checks.caches(data) or {}, profile)
    return command


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list or (args.resume and args.space is None and args.name is None):
        from sweep.sweeps import list_lines

        print("\n".join(list_lines(args.storage)))
        if args.list:
            return 0
        refuse("--resume: which sweep? pass --name X (one of the above) or --space")
    try:
        command = check_command(args)
    except BadArgument as err:
        refuse(str(err))
    command.argv = list(sys.argv) if argv is None else ["sweep/run.py", *argv]
    from sweep.store.lock import SweepBusy, acquire, check_free

    try:
        if args.dry_run:
            check_free(command.sweep_dir)
            lock = None
        else:
            lock = acquire(command.sweep_dir)  # held until the sweep ends: one driver per sweep
    except SweepBusy as err:
        refuse(str(err))
    from sweep import signals

    try:
        with signals.installed():  # Ctrl-C / SIGTERM: stop, say how to resume, exit 130 / 143
            return run_command(args, command)
    except signals.Interrupted as err:
        print(f"sweep/run.py: {err}; finished trials are kept. Resume with: {signals.resume_command(command.argv, command.name)}", file=sys.stderr, flush=True)
        return err.exit_status
    finally:
        if lock is not None:
            lock.release()


def run_command(args, command: Command) -> int:
    """The checked command, run by the driver that holds the sweep's lock."""
    from sweep import dry_run
    from sweep.store.layout import SweepLayout, is_uri
    from sweep.observe import Observers
    from sweep.pipeline import SweepError, run_sweep
    from sweep.progress import Console
    from sweep.store.provenance import KEY as PROVENANCE_KEY
    from sweep.store.provenance import sweep_provenance
    from sweep.ray_session import connect, dashboard_url
    from sweep.resume_guard import IN_FORCE_KEY, resume_differences
    from sweep.store.staging import clear_staging
    from trainables.context import TrialContext
    from sweep.resources import ResourceError, concurrency, decide_stages

    profile, overrides, seeds, plan, name, sweep_dir = command.profile, command.overrides, command.seeds, command.plan, command.name, command.sweep_dir
    data = command.data
    started, corpus_s = time.monotonic(), 0.0
    if not args.dry_run:
        clear_staging(sweep_dir)  # checkpoints a killed trial left half-staged
        if data is None:
            data = default_data(profile)
            corpus_s = time.monotonic() - started
            refusal = args.resume and resume_differences(command.stored_plan, {"data": data})
            if refusal:
                refuse(refusal)
    from sweep import leftovers, signals
    from sweep.disk import NotEnoughSpace, explain, is_full

    import ray

    own_cluster = args.address is None and not args.dry_run and not ray.is_initialized()  # started (and recorded) here
    # a dry run with no cluster to ask sizes the local one from this machine's counts: no Ray started
    machine_only = args.dry_run and args.address is None and not ray.is_initialized()
    if own_cluster:
        leftovers.end_leftovers(sweep_dir)  # what a SIGKILLed driver of this sweep left running
    if machine_only:
        cluster, nodes = dry_run.machine_resources(args.num_cpus), None
    else:
        try:
            cluster = connect(args.address, auth_mode=args.auth_mode, num_cpus=args.num_cpus, dashboard=not args.no_dashboard)
        except (RuntimeError, ConnectionError, ValueError) as err:
            refuse(f"Ray: {checks.first_line(err)}")
        signals.install()  # again: ray.init sets its own SIGTERM handler
        if own_cluster:
            from sweep.ray_session import session_dir

            leftovers.record_session(sweep_dir, session_dir())

        url = dashboard_url()
        if url:
            print(f"dashboard: {url}", flush=True)

        nodes = ray.nodes()
    try:
        resources = decide_stages(cluster, nodes=nodes, gpus_per_trial=args.gpus_per_trial, gpus_per_probe=args.gpus_per_probe,
                                  cpus_per_trial=args.cpus_per_trial)
    except ResourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    at_once = concurrency(cluster, resources.pretrain, nodes=nodes, max_concurrent=args.max_concurrent)
    summary = plan.summary()
    print(f"sweep {name!r}: space {args.space}, profile {profile.name}" + (f" (overrides {overrides})" if overrides else ""))
    if plan.search is None:
        print(f"  pretraining trials: {summary['pretrain_trials']}")
        print(f"  probing trials:     {summary['probe_trials']}")
    else:
        print(f"  searched trials:    {summary['search_samples']} (Optuna + ASHA, at most {plan.search.max_concurrent} at once)")
    print(f"  resources per trial: {resources.describe()}")
    where = ("this machine's counts: no Ray cluster started for --dry-run; --address asks a running one" if machine_only
             else "on the nodes up now")
    print(f"  cluster: {cluster.get('CPU', 0):g} CPU, {cluster.get('GPU', 0):g} GPU -> {at_once} trials at once ({where})")
    print(f"  results: {sweep_dir}")
    if args.dry_run:
        print()
        print(dry_run.settings_lines(plan, profile))
        print()
        n_pretrain, n_downstream = dry_run.windows(data, profile)
        print(dry_run.render(plan, profile, resources=resources.describe(), at_once=at_once, threads=max(1, int(resources.pretrain.cpus)),
                             n_pretrain=n_pretrain, n_downstream=n_downstream))
        return 0

    context = TrialContext(
        sweep_dir=sweep_dir,
        profile=profile,  # resolved once here (name and --set overrides); the trials use it as is
        data=data,
        cpus=resources.pretrain.cpus,
        checkpoint_every=args.checkpoint_every,
        provenance=sweep_provenance(command.argv),
    )
    # Tune's table, Ray's logs and the trials' output go to the log; the terminal gets a line per stage
    log = SweepLayout(sweep_dir).log if not is_uri(sweep_dir) else str(Path(tempfile.gettempdir()) / f"ecgmask-{name}.log")
    print(f"  log:     {log}" + ("" if args.verbose else " (Tune's progress table, Ray's logs, the trials' output; -v shows them here)"))
    if command.tracking.tracker:
        print(f"  tracker: {command.tracking.describe(sweep_dir)}")
    try:
        with Console(log, verbose=args.verbose), signals.stages():
            outcome = run_sweep(
                plan,
                context=context,
                resources=resources,
                # None: as many as fit, and on an autoscaling cluster pending trials let it grow
                max_concurrent=args.max_concurrent or 0,
                resume=args.resume,
                info={
                    "name": name,
                    "resources": dataclasses.asdict(resources),
                    "seeds": list(seeds),
                    IN_FORCE_KEY: command.in_force(data),
                    PROVENANCE_KEY: context.provenance,
                },
                verbose=0 if args.quiet else 1,
                observers=Observers(tracking=command.tracking),
            )
    except (SweepError, NotEnoughSpace) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if not is_full(err):
            raise
        print(f"error: {explain(f'{type(err).__name__}: {err}', sweep_dir)}", file=sys.stderr)
        return 1

    print()
    for stage in outcome.stages:
        print(f"{stage.stage}: {stage.finished}/{stage.total} trials finished, {len(stage.failed)} failed ({stage.path})")
        if stage.best:
            print(f"  best: {stage.best}")
    from sweep.summary import failure_lines, recovery_lines, time_split_line

    for line in failure_lines(outcome.failed, sweep_dir) + recovery_lines(sweep_dir):
        print(line)
    print(f"\nresults: {sweep_dir}")
    tables_s = 0.0
    if plan.search is None:
        print(f"next:    python analysis/make_table1.py --sweep {shlex.quote(sweep_dir)}")  # a URI's query holds '&'
        tables_started = time.monotonic()
        print_results(sweep_dir)
        tables_s = time.monotonic() - tables_started
    parts = [("corpus", corpus_s), *((stage.stage, stage.seconds) for stage in outcome.stages), ("tables and figures", tables_s)]
    print(time_split_line(parts, time.monotonic() - started))
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
