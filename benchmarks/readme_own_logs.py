"""The README's bring-your-own-logs commands, run as written, on a dataset shaped unlike both synthetic ones.

    .venv/bin/python benchmarks/readme_own_logs.py                  # 1,500 users, about 15 minutes on 2 cores
    .venv/bin/python benchmarks/readme_own_logs.py --users 300 --out /tmp/own_logs.json

A small bank's app (three modalities: card payments with an amount, transfers with an amount, app screens with no
number; a tabular row of two numbers; a 45-day window): each user has two or three favourite spending categories
among twelve, is a night owl or not, saves or not; merchants (five per category, each with branches in eight
cities) carry the category in their name only loosely ("Golden Wok Porto", "Nordic Rail Oslo"), so the event texts'
meaning, not a catalogue, carries it. Three tasks are read from the next 30 days: a travel purchase, card spending
after 22:00, a transfer into savings.

The script writes logs.jsonl, next_month.jsonl, spec.json, queries.txt, tasks.json and labels.csv into a work
folder, takes the fenced bash block of the README's "Bring your own logs" section, and runs each command in it
exactly as written (`python` is this interpreter), in that folder, in order. Then it changes the records (the last
user dropped) and runs the pretrain command again, which must refuse to resume. It records each command's exit
code, seconds and last lines of output, the pretraining report, the refusal, and the model's size against the logs
profile's; writes benchmarks/results/readme_own_logs.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from qa_helpers.series import config
from qa_helpers.series.config import REPO_ROOT
from qa_helpers.series.outputs import provenance

WINDOW, FUTURE = 45, 30
CATEGORIES = {
    "groceries": ["Fresh Basket", "Corner Greens", "Daily Harvest", "Market Lane", "Orchard Stores"],
    "chinese food": ["Golden Wok", "Jade Garden", "Lucky Dumpling", "Red Lantern", "Noodle House"],
    "coffee": ["Bean There", "Morning Roast", "Espresso Lab", "Crema Corner", "Daily Grind"],
    "rail travel": ["Nordic Rail", "Coastline Trains", "Metro Express", "Sleeper Line", "Valley Railway"],
    "air travel": ["SkyHop Airlines", "Blue Jet", "Polar Air", "Sunwing Flights", "Atlas Airways"],
    "hotels": ["Harbour Inn", "Grand Plaza Hotel", "Pine Lodge", "City Suites", "Riverside Hostel"],
    "fuel": ["QuickFuel", "Petro Point", "Highway Gas", "EcoCharge", "Roadstar Fuel"],
    "fashion": ["Thread & Co", "Urban Style", "Denim Works", "Silk Avenue", "Street Wear Hub"],
    "electronics": ["Circuit City", "Gadget Garage", "Pixel Store", "TechNest", "Volt Electronics"],
    "pharmacy": ["Green Cross Pharmacy", "Wellness Chemist", "CarePlus", "MediMart", "Health Corner"],
    "bars": ["The Night Owl", "Velvet Lounge", "Hops & Barley", "Moonlight Bar", "Last Call Tavern"],
    "gaming": ["PixelPlay Store", "Arcade Online", "Level Up Games", "Quest Credits", "GameVault"],
}
NAMES = list(CATEGORIES)
CITIES = ["Oslo", "Leeds", "Porto", "Lyon", "Graz", "Turku", "Cork", "Ghent"]  # a merchant's branch
TRAVEL = ("rail travel", "air travel", "hotels")
SCREENS = [
    "home",
    "card details",
    "savings goals",
    "investment funds",
    "travel insurance",
    "currency exchange",
    "loan offers",
    "statements",
    "rewards",
    "support chat",
]
TASKS = {
    "travel_purchase": "Will this person buy travel (trains, flights or hotels) next month?",
    "late_night_spending": "Will this person spend on the card late at night next month?",
    "saves_money": "Will this person move money into savings next month?",
}


def users(n: int, seed: int) -> list[dict]:
    """The hidden state of n users: favourite categories, night owl, saver, activity."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = int(rng.integers(2, 4))
        out.append(
            {
                "user_id": f"cust-{i:05d}",
                "likes": [NAMES[j] for j in rng.choice(len(NAMES), k, replace=False)],
                "night": bool(rng.random() < 0.3),
                "saver": bool(rng.random() < 0.4),
                "activity": float(rng.gamma(2.0, 0.5)),
            }
        )
    return out


def events(user: dict, days: int, rng: np.random.Generator) -> dict:
    """One period of a user's card payments, transfers and app screens."""
    card, transfer, app = [], [], []
    for _ in range(rng.poisson(days * 0.6 * user["activity"])):
        category = user["likes"][rng.integers(len(user["likes"]))] if rng.random() < 0.95 else NAMES[rng.integers(12)]
        hour = int(rng.integers(22, 24)) if user["night"] and rng.random() < 0.4 else int(rng.integers(7, 22))
        amount = round(float(rng.lognormal(4.5 if category in TRAVEL else 2.8, 0.6)), 2)
        merchant = f"{CATEGORIES[category][rng.integers(5)]} {CITIES[rng.integers(len(CITIES))]}"
        card.append(
            {"day": int(rng.integers(days)), "hour": hour, "text": f"card payment at {merchant}", "amount": amount}
        )
    for _ in range(rng.poisson(days * 0.15 * user["activity"])):
        to = (
            "savings account"
            if user["saver"] and rng.random() < 0.5
            else ["a friend", "family", "rent"][rng.integers(3)]
        )
        amount = round(float(rng.lognormal(5.0, 0.7)), 2)
        transfer.append(
            {
                "day": int(rng.integers(days)),
                "hour": int(rng.integers(8, 21)),
                "text": f"transfer to {to}",
                "amount": amount,
            }
        )
    for _ in range(rng.poisson(days * 0.3 * user["activity"])):
        screen = "savings goals" if user["saver"] and rng.random() < 0.3 else SCREENS[rng.integers(len(SCREENS))]
        if any(c in TRAVEL for c in user["likes"]) and rng.random() < 0.2:
            screen = ["travel insurance", "currency exchange"][rng.integers(2)]
        app.append({"day": int(rng.integers(days)), "hour": int(rng.integers(0, 24)), "text": f"opened {screen}"})
    by_day = {
        name: sorted(evs, key=lambda e: (e["day"], e["hour"]))
        for name, evs in (("card", card), ("transfer", transfer), ("app", app))
    }
    return {name: evs for name, evs in by_day.items() if evs}


def write_dataset(folder: Path, n: int, seed: int) -> None:
    """logs.jsonl, next_month.jsonl, spec.json, queries.txt, tasks.json and labels.csv in `folder`."""
    rng = np.random.default_rng(seed + 1)
    people = users(n, seed)
    spec = {
        "name": "neighbourhood-bank",
        "window_days": WINDOW,
        "tabular": 2,
        "modalities": [
            {"name": "card", "cap": 24, "numeric": ["amount"]},
            {"name": "transfer", "cap": 8, "numeric": ["amount"]},
            {"name": "app", "cap": 12},
        ],
    }
    (folder / "spec.json").write_text(json.dumps(spec, indent=1) + "\n")
    with open(folder / "logs.jsonl", "w") as logs, open(folder / "next_month.jsonl", "w") as future:
        rows = []
        for person in people:
            tabular = [round(float(rng.uniform(18, 80))), round(float(rng.lognormal(7.5, 0.5)), 2)]  # age, balance
            logs.write(
                json.dumps({"user_id": person["user_id"], "events": events(person, WINDOW, rng), "tabular": tabular})
                + "\n"
            )
            later = events(person, FUTURE, rng)
            future.write(json.dumps({"user_id": person["user_id"], "events": later, "tabular": tabular}) + "\n")
            card = later.get("card", [])
            rows.append(
                [
                    person["user_id"],
                    int(any(any(m in e["text"] for c in TRAVEL for m in CATEGORIES[c]) for e in card)),
                    int(any(e["hour"] >= 22 for e in card)),
                    int(any("savings" in e["text"] for e in later.get("transfer", []))),
                ]
            )
    with open(folder / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([["user_id", *TASKS], *rows])
    (folder / "tasks.json").write_text(json.dumps(TASKS, indent=1) + "\n")
    (folder / "queries.txt").write_text("\n".join(TASKS.values()) + "\n")


def readme_commands(readme: Path = REPO_ROOT / "README.md") -> list[str]:
    """The commands of the README's 'Bring your own logs' bash block, continuation lines joined, comments kept out."""
    section = readme.read_text(encoding="utf-8").split("## Bring your own logs", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    joined = re.sub(r"\\\s*(#[^\n]*)?\n\s*", " ", block)
    return [shlex.join(shlex.split(line, comments=True)) for line in joined.splitlines() if line.split("#")[0].strip()]


def run(command: str, folder: Path) -> dict:
    """Run one README command in `folder` (`python` is this interpreter): exit code, seconds, last output lines."""
    words = shlex.split(command)
    words[0] = sys.executable if words[0] == "python" else words[0]
    start = time.perf_counter()
    done = subprocess.run(
        words,
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    seconds = time.perf_counter() - start
    print(f"rc={done.returncode} {seconds:6.0f} s  {command}", flush=True)
    return {"command": command, "rc": done.returncode, "seconds": seconds,
            "stdout": last_lines(done.stdout), "stderr": last_lines(done.stderr)}  # fmt: skip


def last_lines(text: str, n: int = 16) -> list[str]:
    """The last n lines of a command's output, progress bars left out."""
    return [line for line in text.splitlines() if line.strip() and "%|" not in line][-n:]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: the cache root's benchmarks/)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "readme_own_logs.json")
    args = parser.parse_args()
    folder = args.work or config.cache_root() / "benchmarks" / "readme_own_logs"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write_dataset(folder, args.users, args.seed)
    commands = readme_commands()
    results = [run(c, folder) for c in commands]
    pretrain = next(c for c in commands if " pretrain " in f" {c} ")
    lines = (folder / "logs.jsonl").read_text().splitlines(keepends=True)
    (folder / "logs.jsonl").write_text("".join(lines[:-1]))  # one user fewer: the records changed
    (folder / "next_month.jsonl").write_text("".join((folder / "next_month.jsonl").read_text().splitlines(True)[:-1]))
    rerun = run(pretrain, folder)
    model_config = json.loads((folder / "my_run" / "model" / "qanchor_config.json").read_text())
    history = json.loads((folder / "my_run" / "history.json").read_text())
    logs = config.load("logs")
    result = {
        **provenance(),
        "users": args.users,
        "dataset": "neighbourhood-bank: card (amount), transfer (amount), app; tabular 2; 45-day window",
        "commands": results,
        "rerun_on_changed_records": rerun,
        "refused": rerun["rc"] != 0 and any("--fresh" in line for line in rerun["stderr"]),
        "trained": {"steps": len(history), "emb_dim": model_config.get("emb_dim")},
        "logs_profile": {
            "pretrain_steps": logs.pretrain_steps,
            "batch_size": logs.batch_size,
            "facets": logs.own_logs_facets,
        },
        "all_commands_succeeded": all(r["rc"] == 0 for r in results),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("refused", "trained", "logs_profile", "all_commands_succeeded")}))
    return result


if __name__ == "__main__":
    done = main()
    sys.exit(0 if done["all_commands_succeeded"] and done["refused"] else 1)
