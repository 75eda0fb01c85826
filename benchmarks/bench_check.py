"""How long ``check`` takes for a large deployment: 1,000 rules in 50 files.

Run: ``python benchmarks/bench_check.py``. Prints CPU seconds (time.process_time) per stage
for the best of a few runs. Target: loading and checking all rules in under 2 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from automation.rulefiles.rule_parser import load_rules
from automation.rulefiles.yaml_loader import load_document

FILES = 50
RULES_PER_FILE = 20
REPEATS = 3

_RULE_KINDS = (
    """  - id: repost-{n}
    description: Repost from support when a brand post reaches {k}00 likes
    watch:
      accounts: [brand]
      posts: ["12602948888113{n:05d}"]
      owner: brand
      max_age: 7d
    when: likes >= {k}00
    actions:
      - repost: {{as: support}}
      - webhook:
          url: https://chat.example.com/hooks/T{n}
          secret: team-chat
          headers: {{X-Rule: "{{rule.id}}"}}
          body: {{text: "{{post.url}} reached {{metrics.likes}} likes", rule: "{{rule.id}}"}}
""",
    """  - id: viral-{n}
    watch: {{accounts: [brand, support], max_age: 2d}}
    when:
      all:
        - retweets over 1h >= {k}0
        - {{metric: engagement_rate, gte: 0.05}}
        - not: {{metric: impressions, lt: 1000}}
        - any: [replies >= 3, "quotes > 2"]
    for: 15m
    fire: {{rearm: true, cooldown: 6h}}
    actions:
      - webhook: {{url: "https://crm.example.com/hooks/viral?post={{post.id}}", timeout: 5}}
      - reply: {{as: support, text: "Thanks for {{metrics.reposts}} reposts!"}}
""",
    """  - id: milestones-{n}
    description: Like milestones
    watch: {{accounts: [brand]}}
    fire: {{every: {k}000, metric: likes}}
    enabled: true
    backfill: false
    actions:
      - log: {{message: "{{post.id}} passed {{milestone}} likes at {{fired_at}}"}}
""",
)


def write_files(root: Path) -> list[Path]:
    paths = []
    for f in range(FILES):
        parts = ["version: 1\nrules:\n"]
        for r in range(RULES_PER_FILE):
            n = f * RULES_PER_FILE + r
            parts.append(_RULE_KINDS[n % 3].format(n=n, k=1 + n % 9))
        path = root / f"rules-{f:02d}.yaml"
        path.write_text("".join(parts), encoding="utf-8")
        paths.append(path)
    return paths


def best_cpu(action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = write_files(root)
        ruleset = load_rules([root])
        if ruleset.errors or len(ruleset.rules) != FILES * RULES_PER_FILE:
            for problem in ruleset.problems[:10]:
                print(problem, file=sys.stderr)
            return 1
        size = sum(p.stat().st_size for p in files)
        yaml_only = best_cpu(lambda: [load_document(p) for p in files])
        total = best_cpu(lambda: load_rules([root]))
    print(f"{len(ruleset.rules)} rules in {len(files)} files ({size / 1024:.0f} KiB)")
    print(f"{'stage':<34} {'CPU s':>8}")
    print(f"{'YAML (strict loader)':<34} {yaml_only:>8.3f}")
    print(f"{'schema + rule parsing':<34} {total - yaml_only:>8.3f}")
    print(f"{'load_rules total':<34} {total:>8.3f}")
    print(f"{'target':<34} {2.0:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
