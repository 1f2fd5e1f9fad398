#!/usr/bin/env python3
"""Runs the README's examples and compares what it documents with what the binaries do.

  scripts/readme-check.py [BINDIR]      (default .build/debug; `confine` is looked up there first)

What it checks, each failure naming the README's line:
  * every fenced block whose lines start with `$ `: the command runs (bash, from the package's
    folder or from a scratch folder) and exits as documented (0 unless a directive says
    otherwise); each line shown after it must match a line of its output (stdout and stderr),
    in order, `...` or `…` standing for any text;
  * every inline example written `` `confine ...` → `text` ``: the command's output has a line
    that matches `text`;
  * every synopsis line (`confine SUB [--flag ...]` in a block without `$`): the subcommand
    exists and each flag it names is in its `--help`; for the command-line synopsis block, each
    option of `--help` is named in the synopsis too;
  * the table after `<!-- readme-test: exit-statuses -->`: each row's command exits with the
    status in its first column, its `--json` record has one of the statuses the row names, and
    stderr holds exactly one `confine:` line when Confine (not the command) decided the outcome;
  * the code span after `<!-- readme-test: record-fields -->`: the record's fields are exactly
    the public fields of `ResultRecord`, the statuses exactly those the library gives, and every
    record printed while checking has only documented fields.

A directive `<!-- readme-test {JSON} -->` right before a block sets how it runs:
  {"exit": N}                 expected exit status (default 0)
  {"cwd": "scratch"}          run in the scratch folder (empty at first, root-owned 0755 as root)
  {"root": true}              only when run as root (skipped otherwise, and said so)
  {"save": "NAME"}            save this block's text as NAME in the scratch folder (not run)
  {"files": {"NAME": {"from": "SAVED", "replace": ["OLD", "NEW"]}}}
                              write NAME in the scratch folder from a saved block, with OLD replaced
  {"skip": "why"}             not run (the reason is printed)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug"))
IS_ROOT = os.geteuid() == 0

failures = []
checked = {"blocks": 0, "inline": 0, "synopsis": 0, "exit rows": 0, "skipped": 0}
records_seen = []


def fail(line, message):
    failures.append(f"README.md:{line}: {message}")


def environment():
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env["CONFINE_QUIET"] = "1"          # host warnings are not part of the examples
    env["CONFINE_CACHE_DIR"] = ""       # no state carried between examples
    env.pop("CONFINE_POLICY_PATH", None)
    return env


def run(command, cwd, timeout=120):
    """(exit status, stdout, stderr) of `command` run by bash."""
    try:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=environment(), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", f"(timed out after {timeout} s)"
    return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")


def pattern(shown):
    """A documented line as a regular expression: `...` and `…` stand for any text."""
    parts = re.split(r"\.\.\.|…", shown.strip())
    return re.compile(r"\s*" + ".*".join(re.escape(p) for p in parts) + r"\s*")


def matches_in_order(expected, output_lines):
    """The first documented line not found (in order) in the output, or None."""
    position = 0
    for line in expected:
        regex = pattern(line)
        while position < len(output_lines) and not regex.fullmatch(output_lines[position]):
            position += 1
        if position == len(output_lines):
            return line
        position += 1
    return None


def parse_blocks(lines):
    """Fenced blocks: (first line number of the content, info string, content lines, directive)."""
    blocks, directive, i = [], None, 0
    while i < len(lines):
        text = lines[i]
        found = re.match(r"\s*<!-- readme-test (\{.*\}) -->\s*$", text)
        if found:
            try:
                directive = json.loads(found.group(1))
            except json.JSONDecodeError as error:
                fail(i + 1, f"directive is not JSON: {error}")
            i += 1
            continue
        if text.startswith("```"):
            info, start, content = text[3:].strip(), i + 2, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                content.append(lines[i])
                i += 1
            blocks.append((start, info, content, directive or {}))
            directive = None
        elif text.strip():
            directive = None if not text.lstrip().startswith("<!--") else directive
        i += 1
    return blocks


def write_files(directive, scratch, saved, line):
    for name, spec in directive.get("files", {}).items():
        text = saved.get(spec.get("from"))
        if text is None:
            fail(line, f"directive names a saved block '{spec.get('from')}' that no block before it saved")
            return False
        old, new = spec.get("replace", ["", ""])
        if old and old not in text:
            fail(line, f"directive replaces {old!r}, which block '{spec['from']}' does not hold")
            return False
        with open(os.path.join(scratch, name), "w") as handle:
            handle.write(text.replace(old, new, 1) if old else text)
    return True


def check_session(start, content, directive, scratch):
    """A block of `$ command` lines, each followed by what it prints."""
    examples, current = [], None
    for offset, text in enumerate(content):
        if text.startswith("$ "):
            current = [start + offset, text[2:], []]
            examples.append(current)
        elif current is not None and text.strip() and text.strip() not in ("...", "…"):
            current[2].append(text)
    cwd = scratch if directive.get("cwd") == "scratch" else ROOT
    for line, command, expected in examples:
        status, out, err = run(command, cwd)
        if status is None:
            fail(line, f"`{command}` {err}")
            continue
        want = directive.get("exit", 0)
        if status != want:
            fail(line, f"`{command}` exited {status}, the README implies {want}\n{err[-600:]}")
        missing = matches_in_order(expected, (out + err).splitlines())
        if missing is not None:
            fail(line, f"`{command}` did not print (in this order) the line {missing.strip()!r}; it printed:\n"
                       + "\n".join("    " + l for l in (out + err).splitlines()[:25]))
        for text in out.splitlines():
            collect_record(text)
        checked["blocks"] += 1


def collect_record(text):
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return
    if isinstance(value, dict) and "argv" in value and "status" in value:
        records_seen.append(value)


def help_text(words):
    status, out, err = run("confine " + " ".join(words) + " --help", ROOT, timeout=30)
    return status, out + err


def subcommands(help_output):
    names, inside = set(), False
    for text in help_output.splitlines():
        if text.startswith("SUBCOMMANDS:"):
            inside = True
            continue
        if inside:
            if text and not text.startswith(" "):
                break
            found = re.match(r"\s+([a-z][a-z0-9-]*)", text)
            if found:
                names.add(found.group(1))
    return names


def options(help_output):
    """The options a --help lists, each as the set of its names (`-o`, `--output`)."""
    groups, inside = [], False
    for text in help_output.splitlines():
        if text.startswith("OPTIONS:"):
            inside = True
            continue
        if inside and text and not text.startswith(" "):
            inside = False
        found = re.match(r"  (-[^ ].*?)(?:  |$)", text) if inside else None
        if found:
            names = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][a-z0-9-]*)", found.group(1)))
            if names and not names & {"--help", "-h", "--version"}:
                groups.append(names)
    return groups


def check_synopsis(line, text, complete):
    """One `confine SUB ...` line (or several joined by ` | `)."""
    body = text.split("#")[0].strip()[len("confine "):]
    alternatives = body.split(" | ")
    first = alternatives[0].split()
    parent = []
    status, output = help_text([])
    while first and first[0] in subcommands(output):
        parent.append(first.pop(0))
        status, output = help_text(parent)
    for index, alternative in enumerate(alternatives):
        words, path = (first, parent) if index == 0 else (alternative.split(), parent[:-1])
        if index:
            if not words or words[0] not in subcommands(help_text(path)[1]):
                fail(line, f"`confine {' '.join(path + words[:1])}` is not a subcommand")
                continue
            path = path + [words.pop(0)]
            status, output = help_text(path)
        if status != 0:
            fail(line, f"`confine {' '.join(path)} --help` exited {status}: {output.strip()[:200]}")
            continue
        named = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][a-z0-9-]*)", " ".join(words).split(" -- ")[0]))
        groups = options(output)
        known = set().union(*groups) if groups else set()
        for flag in sorted(named - known - {"--help", "--version", "--"}):
            fail(line, f"`confine {' '.join(path)}` has no option {flag} (its --help lists {', '.join(sorted(known)) or 'none'})")
        if complete:
            for group in groups:
                if not group & named:
                    fail(line, f"the synopsis of `confine {' '.join(path)}` does not name its option {'/'.join(sorted(group))}")
        checked["synopsis"] += 1


def check_inline(lines):
    """`confine ...` → `text` in prose (a paragraph may wrap inside either span)."""
    paragraph, start = [], 0
    for number, text in enumerate(lines + [""], 1):
        if text.strip() and not text.startswith("```"):
            if not paragraph:
                start = number
            paragraph.append(text.strip())
            continue
        joined = " ".join(paragraph)
        for found in re.finditer(r"`(confine [^`]+)`\s*→\s*`([^`]+)`", joined):
            command, shown = found.group(1), found.group(2)
            status, out, err = run(command, ROOT)
            output = (out + err).splitlines()
            if not any(pattern(shown).search(l) for l in output):
                fail(start, f"`{command}` printed no line like {shown!r}; it printed:\n"
                            + "\n".join("    " + l for l in output[:10]))
            checked["inline"] += 1
        paragraph = []


def check_exit_table(lines, scratch):
    begin = next((i for i, t in enumerate(lines) if "<!-- readme-test: exit-statuses -->" in t), None)
    if begin is None:
        fail(1, "no exit-status table (<!-- readme-test: exit-statuses -->)")
        return
    rows = []
    for number in range(begin + 1, len(lines)):
        text = lines[number]
        if not text.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in text.strip().strip("|").split("|")] if "\\|" not in text else None
        if cells is None or set(cells[0]) <= set("-: "):
            continue
        rows.append((number + 1, cells))
    for line, cells in rows[1:]:          # the first row is the header
        example = re.search(r"`(confine run [^`]+)`\s*→\s*(\d+)", cells[-1])
        if not example:
            fail(line, f"exit-status row without an example `confine run ...` → N: {cells[-1]!r}")
            continue
        command, want = example.group(1), int(example.group(2))
        if "(as root)" in cells[-1] and not IS_ROOT:
            checked["skipped"] += 1
            continue
        status, out, err = run(command, scratch)
        if status != want:
            fail(line, f"`{command}` exited {status}, the table says {want}\n{err[-400:]}")
        confine_lines = [l for l in err.splitlines() if l.startswith("confine:")]
        statuses = set(re.findall(r"`([a-z-]+)`", cells[1]))
        by_confine = not statuses & {"ok", "nonzero", "signal"}
        if by_confine and len(confine_lines) != 1:
            fail(line, f"`{command}` printed {len(confine_lines)} `confine:` lines on stderr, not one: {err.strip()[:300]!r}")
        if not by_confine and confine_lines:
            fail(line, f"`{command}` printed a `confine:` line for the command's own outcome: {confine_lines}")
        json_command = command.replace("confine run ", "confine run --json ", 1)
        status, out, err = run(json_command, scratch)
        records = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        if statuses:
            if len(records) != 1 or records[0].get("status") not in statuses:
                fail(line, f"`{json_command}` gave {[r.get('status') for r in records]}, the table says {sorted(statuses)}")
        elif records:
            fail(line, f"`{json_command}` printed a record, the table says none")
        records_seen.extend(records)
        first = cells[0].strip("`* ")
        record = records[0] if len(records) == 1 else {}
        if first.isdigit() and int(first) != want:
            fail(line, f"the row says exit status {first}, its example says {want}")
        elif first == "128+N" and (record.get("signal") is None or 128 + record["signal"] != want):
            fail(line, f"`{json_command}` ended by signal {record.get('signal')}, not {want} - 128")
        elif first == "the command's" and record.get("exitCode") != want:
            fail(line, f"`{json_command}` recorded exitCode {record.get('exitCode')}, while confine run exited {want}")
        checked["exit rows"] += 1


def check_record_fields(lines):
    begin = next((i for i, t in enumerate(lines) if "<!-- readme-test: record-fields -->" in t), None)
    if begin is None:
        fail(1, "no record field list (<!-- readme-test: record-fields -->)")
        return
    text = " ".join(l.strip() for l in lines[begin:begin + 12])
    span = re.search(r"-->\s*[^`]*`([^`]+)`", text)
    if not span:
        fail(begin + 1, "no code span after the record-fields marker")
        return
    listed = span.group(1)
    status_list = re.search(r"status \(([^)]*)\)", listed)
    documented_statuses = set(status_list.group(1).split("|")) if status_list else set()
    fields = {f.strip().split(" ")[0] for f in re.sub(r"\([^)]*\)", "", listed).split(",") if f.strip()}
    with open(os.path.join(ROOT, "Sources/Confine/API/ResultRecord.swift")) as handle:
        source = handle.read()
    declared = set(re.findall(r"^    public var (\w+)", source, re.M))
    with open(os.path.join(ROOT, "Sources/Confine/API/CompletedProcess.swift")) as handle:
        status_enum = handle.read().split("enum Status", 1)[1].split("}", 1)[0]
    given = set()
    for name, raw in re.findall(r"case (\w+)(?: = \"([^\"]+)\")?", status_enum):
        given.add(raw or name)
    given |= set(re.findall(r'"(refused|error)"', source))
    line = begin + 1
    for name in sorted(fields - declared):
        fail(line, f"the README lists the record field '{name}', which ResultRecord does not have")
    for name in sorted(declared - fields):
        fail(line, f"the record field '{name}' (ResultRecord) is not in the README's list")
    for name in sorted(documented_statuses ^ given):
        fail(line, f"status '{name}': " + ("documented but never given" if name in documented_statuses else "given but not documented"))
    for key in sorted(set().union(*map(set, records_seen)) - fields if records_seen else set()):
        fail(line, f"a record printed while checking has the undocumented field '{key}'")


def main():
    with open(README) as handle:
        lines = handle.read().split("\n")
    scratch = tempfile.mkdtemp(prefix="confine-readme-", dir="/var/tmp")
    os.chmod(scratch, 0o755)           # a leased uid enters it, as it would a user's project folder
    saved = {}
    try:
        section_of = {}
        heading = ""
        for number, text in enumerate(lines, 1):
            if text.startswith("#"):
                heading = text.lstrip("# ").strip()
            section_of[number] = heading
        for start, info, content, directive in parse_blocks(lines):
            if "save" in directive:
                saved[directive["save"]] = "\n".join(content) + "\n"
                continue
            if "skip" in directive:
                print(f"README.md:{start}: skipped: {directive['skip']}")
                checked["skipped"] += 1
                continue
            if directive.get("root") and not IS_ROOT:
                checked["skipped"] += 1
                continue
            if info not in ("", "sh", "console"):
                continue
            if any(t.startswith("$ ") for t in content):
                if write_files(directive, scratch, saved, start):
                    check_session(start, content, directive, scratch)
                continue
            complete = section_of.get(start) == "The command line"
            for offset, text in enumerate(content):
                if text.startswith("confine ") and not text.startswith("confine: "):
                    check_synopsis(start + offset, text, complete)
        check_inline(lines)
        check_exit_table(lines, scratch)
        check_record_fields(lines)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for failure in failures:
        print(failure)
    summary = ", ".join(f"{v} {k}" for k, v in checked.items())
    if failures:
        print(f"readme: {len(failures)} difference(s) between the README and the product ({summary})")
        sys.exit(1)
    print(f"readme: the README's examples hold ({summary})")


if __name__ == "__main__":
    main()
