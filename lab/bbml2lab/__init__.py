"""bbml2-lab runner: render LAVA jobs, run them with lava-run, parse KTAP results.

Modules (each small, one concern):
  config    matrix.yaml / boards.yaml loading, validation and expansion to jobs
  render    jinja2 job + device templates, LAVA schema validation
  lavarun   invoking lava-run with a timeout
  lavalog   parsing lava-run's JSON-lines log
  console   console text cleanup, kernel-line splicing, marker sections
  ktap      KTAP / kselftest TAP parser
  health    kernel splat detection and marker results
  report    results.json / junit.xml / summary.md
  metadata  versions and provenance for metadata.json
  fsutil    run directories and atomic writes
  session   running a list of jobs into one results directory
  lavaserver  the LAVA server's XML-RPC API: credentials, retries, redaction
  labrun    a plan through a LAVA server: submit, poll, fetch, retry, resume
  artcheck  published artifacts: URLs, manifest, HEAD checks
  modecheck the mission check: reported linear map vs the board's CPUs
  cli       the run.py command line
"""


class LabError(Exception):
    """An error with a one-line, user-facing message (no traceback needed)."""
