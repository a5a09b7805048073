"""`lifecycle init`: point the template at your own table (`lifecycle.project.adopt`)."""

from lifecycle.project.adopt import adopt


def run(data: str | None, target: str, task: str | None, time_column: str | None,
        sql_url: str | None = None, query: str | None = None,
        project_name: str | None = None, leakage: str | None = None) -> None:
    """`lifecycle init` (see `lifecycle.project.adopt`); a command returns its exit code."""
    adopt(data, target, task, time_column, sql_url, query, project_name, leakage)
