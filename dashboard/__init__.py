"""The members' dashboard: what each member gives, gets and earns, behind a sign-in."""
