#!/usr/bin/env python3
"""docs/make-classroom.py BUILD_DIR [--lang en|zh] > docs/classroom.md

Writes the teacher's guide from real runs, not from memory: for every scenario of
`ipcscope list --json`, in the order of the course's chapters, it runs the scenario headless in
predict mode at its default parameters (`--predict --script -`, answering A to every
question), and prints what the run said: its key moments (each question, the answer the
processes gave and why), how many steps the lesson takes, whether its checks passed, and the
scenario's keypress actions (read from src/scenarios/*.c). A question the run never reached is
not printed, so the guide shows what a class would see on this machine today.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRING = r'"(?:[^"\\]|\\.)*"'


def c_string(lits):
    """Adjacent C string literals, joined and unescaped (enough for the labels)."""
    parts = re.findall(STRING, lits)
    return "".join(bytes(p[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
                   for p in parts)


def scenario_sources():
    """From the sources: {scenario id: [(key, label_en, label_zh)]} (the actions), and
    {scenario id: summary_zh}."""
    out, summary_zh = {}, {}
    src = os.path.join(ROOT, "src", "scenarios")
    for name in sorted(os.listdir(src)):
        if not name.endswith(".c"):
            continue
        text = open(os.path.join(src, name), encoding="utf-8").read()
        arrays = {}
        for m in re.finditer(r"struct scenario_action (\w+)\[\] = \{(.*?)\n\};", text, re.S):
            entries = []
            for e in re.finditer(r"\{\s*'(\\?.)'\s*,\s*((?:%s\s*)+),\s*((?:%s\s*)+),\s*\w+\s*\}"
                                 % (STRING, STRING), m.group(2)):
                entries.append((e.group(1), c_string(e.group(2)), c_string(e.group(3))))
            arrays[m.group(1)] = entries
        # scenarios of one file may share their fields through a macro (MX_COMMON)
        macros = {m.group(1): m.group(2) for m in
                  re.finditer(r"#define (\w+)((?:[^\n]*\\\n)+[^\n]*)", text)}
        for m in re.finditer(r"const struct scenario \w+ = \{(.*?)\n\};", text, re.S):
            body = m.group(1)
            for name, value in macros.items():
                if re.search(r"\b%s\b" % name, body):
                    body += value
            sid = re.search(r'\.id = "([^"]+)"', body)
            act = re.search(r"\.actions = (\w+)", body)
            zh = re.search(r"\.summary_zh =\s*((?:%s\s*)+)" % STRING, body)
            if sid and act and act.group(1) in arrays:
                out[sid.group(1)] = arrays[act.group(1)]
            if sid and zh:
                summary_zh[sid.group(1)] = c_string(zh.group(1))
    return out, summary_zh


def chapter_titles_zh():
    """The chapters' Chinese titles, from src/scenario.c (index: the chapter's number)."""
    text = open(os.path.join(ROOT, "src", "scenario.c"), encoding="utf-8").read()
    table = re.search(r"chapter_titles\[\]\[2\] = \{(.*?)\n\};", text, re.S).group(1)
    return [c_string(m.group(2)) for m in
            re.finditer(r"\{(%s),\s*(%s)\}" % (STRING, STRING), table)]


def run_lesson(ipcscope, sid, lang):
    """The predict run's questions and reveals, and its final snapshot."""
    script = "".join("finish 2000\nanswer A\n" for _ in range(30)) + "snapshot\n"
    p = subprocess.run([ipcscope, "run", sid, "--headless", "--predict", "--lang", lang,
                        "--script", "-"], input=script, capture_output=True, text=True,
                       timeout=600)
    moments, snap = [], None
    for line in p.stdout.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("predict") == "question":
            moments.append({"q": d})
        elif d.get("predict") == "reveal":  # some are known only later, at the end
            for mo in moments:
                if mo["q"].get("n") == d.get("n"):
                    mo["r"] = d
        elif "scenario" in d and "steps" in d:
            snap = d
    return p.returncode, moments, snap


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: docs/make-classroom.py BUILD_DIR [--lang en|zh] > docs/classroom.md")
    ipcscope = os.path.join(sys.argv[1], "ipcscope")
    lang = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--lang" else "en"
    zh = lang == "zh"
    catalogue = json.loads(subprocess.run([ipcscope, "list", "--json"], capture_output=True,
                                          text=True, check=True).stdout)
    catalogue.sort(key=lambda sc: sc["chapter"])  # stable: the catalogue's order within one
    actions, summary_zh = scenario_sources()
    chapters_zh = chapter_titles_zh()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    clock = open("/sys/devices/system/clocksource/clocksource0/current_clocksource").read().strip()
    if zh:
        print("# 课堂指南：每个场景的关键时刻\n")
        print("由 `docs/make-classroom.py BUILD --lang zh` 根据真实运行生成（提交 %s，时钟源 %s）："
              "每个场景以默认参数在预测模式下无界面运行，下面是它提出的问题、进程真正给出的答案和"
              "原因。课堂上用 `ipcscope run ID --step --predict` 打开同一课，在每个问题处停下来讨论。"
              "动作键在界面中按 `a` 后使用。\n" % (commit, clock))
    else:
        print("# Classroom guide: the key moments of every scenario\n")
        print("Generated by `docs/make-classroom.py BUILD` from real runs (commit %s, clocksource "
              "%s): every scenario ran headless in predict mode at its default parameters, and "
              "below are the questions it asked, the answer the processes really gave, and why. "
              "In class, `ipcscope run ID --step --predict` opens the same lesson: stop at each "
              "question and let the class vote (keys A-D), then Space reveals. The actions are "
              "the lesson's \"what if\": `a` and the key, in the TUI. `docs/classroom.zh.md` is "
              "the same guide in Chinese.\n" % (commit, clock))
    chapter = None
    for sc in catalogue:
        sid = sc["id"]
        if sc["chapter"] != chapter:
            chapter = sc["chapter"]
            title = chapters_zh[chapter] if zh and chapter < len(chapters_zh) else sc["chapter_title"]
            print("## %d. %s\n" % (chapter, title))
        rc, moments, snap = run_lesson(ipcscope, sid, lang)
        print("### `%s`: %s\n" % (sid, sc["title_zh"] if zh else sc["title"]))
        print((summary_zh.get(sid, sc["summary"]) if zh else sc["summary"]) + "\n")
        facts = []
        if snap:
            facts.append(("%d 步" if zh else "%d steps") % snap["steps"])
            ok = snap.get("check", {}).get("ok") if isinstance(snap.get("check"), dict) else None
            if ok is not None:
                facts.append(("检查：%s" if zh else "checks: %s") % ("通过" if zh and ok else
                                                                    "ok" if ok else "FAILED"))
        else:
            facts.append("没有快照（退出码 %d）" % rc if zh else "no snapshot (exit %d)" % rc)
        params = ", ".join("%s=%s" % (p["key"], p["default"]) for p in sc.get("params", []))
        if params:
            facts.append(("默认参数 %s" if zh else "defaults %s") % params)
        print("；".join(facts) + "。\n" if zh else "; ".join(facts) + ".\n")
        for i, mo in enumerate(moments, 1):
            q, r = mo["q"], mo.get("r")
            print("%d. %s (%s)" % (i, q["text"], " · ".join(q["choices"])))
            if r:
                measured = ", ".join(  # a fact with a value is a reading of the run
                    "%s%s = %s" % (f["task"] + " " if "task" in f else "", f["key"],
                                   "none" if f["value"] is None else f["value"])
                    for f in r.get("facts", []) if "value" in f)
                print("   %s **%s** — %s%s" % ("答案：" if zh else "Answer:", r["correct"], r["why"],
                                            (" （实测：%s）" if zh else " (measured: %s)") % measured
                                            if measured else ""))
        if moments:
            print()
        acts = actions.get(sid, [])
        if acts:
            print(("动作：" if zh else "Actions: ") + ("；" if zh else "; ").join(
                "`a` `%s` %s" % (k, lzh if zh else len_) for k, len_, lzh in acts) +
                ("。\n" if zh else ".\n"))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
