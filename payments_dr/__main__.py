"""`python -m payments_dr`: the same as the `payments-dr` console command."""

from payments_dr.entry import console

console()
