"""The people who do the tasks: salespeople, activators, call-center agents."""
