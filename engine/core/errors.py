"""The one exception type that reaches users: a problem they can fix, said in plain words."""


class UserError(Exception):
    """A bad config, corpus or run folder. The CLI prints it in one line and exits with status 2."""

    def __init__(self, message: str, *, problems: list[str] | None = None):
        self.problems = problems or [message]
        super().__init__(message)


class FolderNotConfig(UserError):
    """A folder named where a config file was asked for; a caller that knows run folders may say more
    (engine/run/folder.py `folder_as_config`)."""

    def __init__(self, path):
        self.path = path
        super().__init__(f"{path} is a folder, not a config file: name the .toml file")


class ConfigError(UserError):
    """One or more invalid config values; `problems` lists every one of them."""

    def __init__(self, problems: list[str]):
        head = problems[0] if len(problems) == 1 else f"{len(problems)} problems in the config: " + "; ".join(problems)
        super().__init__(head, problems=problems)
