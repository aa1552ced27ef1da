from eaps_kit.runner import serve

from notifications.config import Settings
from notifications.main import create_app


def main() -> None:
    settings = Settings()
    serve(lambda: create_app(settings), settings)


if __name__ == "__main__":
    main()
