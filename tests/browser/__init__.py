"""Browser test set-up shared by every server-rendered page suite.

Use it from a test package's conftest.py:

    from tests.browser.fixtures import *  # noqa: F403  (fixtures)

and then in tests (marked `browser`):

    def test_queue(live_server, new_page, log_in):
        page = new_page()                        # a fresh browser context, 1280 px
        log_in(page, "carla")
        page.goto(live_server.url("/hulpverlener"))
        check_page(page, "caseworker-queue")     # axe + screenshots at 360 and 1280

See tests/browser/fixtures.py for what each fixture does.
"""
