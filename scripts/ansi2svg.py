#!/usr/bin/env python3
"""Turn a terminal capture with ANSI colours (`tmux capture-pane -p -e`) into
an SVG: one <text> per line, one <tspan> per run of equal style.

Usage: scripts/ansi2svg.py [--title TEXT] < capture.ansi > picture.svg
Stdlib only; knows SGR 0/1/2/4/7/22/24/27, 30-37/90-97/39, 40-47/100-107/49,
38;5;N / 48;5;N and 38;2;R;G;B / 48;2;R;G;B. Other escapes are dropped.
"""
import argparse
import html
import re
import sys

FG, BG = "#d0d0d0", "#1c1c1c"
BASE16 = ["#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
          "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff"]
CHAR_W, LINE_H, FONT = 8.4, 17, 14
ESCAPE = re.compile(r"\x1b\[([0-9;:]*)([A-Za-z])|\x1b[()][A-Za-z0-9]|\x1b.")


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (v, v, v)


def extended(codes, i):
    """38/48 ;5;N or ;2;R;G;B starting at codes[i]: (colour, next index)."""
    if i + 1 < len(codes) and codes[i + 1] == 5 and i + 2 < len(codes):
        return xterm256(codes[i + 2]), i + 3
    if i + 1 < len(codes) and codes[i + 1] == 2 and i + 4 < len(codes):
        return "#%02x%02x%02x" % tuple(codes[i + 2:i + 5]), i + 5
    return None, len(codes)


def apply_sgr(style, params):
    codes = [int(c) if c.isdigit() else 0 for c in re.split("[;:]", params)] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        i += 1
        if c == 0:
            style.clear()
        elif c in (1, 2, 4, 7):
            style[{1: "bold", 2: "dim", 4: "underline", 7: "reverse"}[c]] = True
        elif c == 22:
            style.pop("bold", None)
            style.pop("dim", None)
        elif c in (24, 27):
            style.pop("underline" if c == 24 else "reverse", None)
        elif 30 <= c <= 37 or 90 <= c <= 97:
            style["fg"] = BASE16[c - 30 if c < 90 else c - 90 + 8]
        elif 40 <= c <= 47 or 100 <= c <= 107:
            style["bg"] = BASE16[c - 40 if c < 100 else c - 100 + 8]
        elif c in (39, 49):
            style.pop("fg" if c == 39 else "bg", None)
        elif c in (38, 48):
            colour, i = extended(codes, i - 1)
            if colour:
                style["fg" if c == 38 else "bg"] = colour


def runs_of(line):
    """[(text, style dict)] for one captured line."""
    style, out, pos = {}, [], 0
    for m in ESCAPE.finditer(line):
        if m.start() > pos:
            out.append((line[pos:m.start()], dict(style)))
        if m.group(2) == "m":
            apply_sgr(style, m.group(1))
        pos = m.end()
    if pos < len(line):
        out.append((line[pos:], dict(style)))
    return out


def svg(lines, title):
    width = max((sum(len(t) for t, _ in runs_of(l)) for l in lines), default=80)
    w, h = width * CHAR_W + 20, len(lines) * LINE_H + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h}" '
           f'viewBox="0 0 {w:.0f} {h}" font-family="DejaVu Sans Mono,Menlo,Consolas,monospace" '
           f'font-size="{FONT}">']
    if title:
        out.append(f"<title>{html.escape(title)}</title>")
    out.append(f'<rect width="100%" height="100%" fill="{BG}" rx="6"/>')
    for row, line in enumerate(lines):
        y = 10 + row * LINE_H
        col = 0
        texts = []
        for text, st in runs_of(line):
            fg, bg = st.get("fg", FG), st.get("bg")
            if st.get("reverse"):
                fg, bg = bg or BG, fg
            x = 10 + col * CHAR_W
            if bg:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{len(text) * CHAR_W:.1f}" '
                           f'height="{LINE_H}" fill="{bg}"/>')
            if text.strip():
                attrs = f' x="{x:.1f}" fill="{fg}"'
                if st.get("bold"):
                    attrs += ' font-weight="bold"'
                if st.get("dim"):
                    attrs += ' opacity="0.6"'
                if st.get("underline"):
                    attrs += ' text-decoration="underline"'
                texts.append(f"<tspan{attrs}>{html.escape(text)}</tspan>")
            col += len(text)
        if texts:
            out.append(f'<text y="{y + LINE_H - 4}" xml:space="preserve">{"".join(texts)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    lines = sys.stdin.read().rstrip("\n").split("\n")
    sys.stdout.write(svg(lines, args.title))


if __name__ == "__main__":
    main()
