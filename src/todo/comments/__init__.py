"""Comments on tasks: members of a task's list read them; editors and above write them."""
