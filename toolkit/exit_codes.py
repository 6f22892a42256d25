"""Exit codes of every operator command, defined once (rollout, teardown, runbook, keys, drill).

0 done or healthy; 1 failed, refused, blocked or timed out (every reason is printed); 2 invalid
input (config, build, command line: the message says what was wrong and what is allowed);
3 drift found; 4 something needs attention; 130 interrupted (Ctrl-C)."""

OK = 0
FAILED = 1
USAGE = 2
DRIFTED = 3
ATTENTION = 4
INTERRUPTED = 130
