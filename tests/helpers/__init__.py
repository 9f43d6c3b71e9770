"""What the tests share: processes, senders, polling, the HTTP catcher, the app server, the
provider kit. Test modules import from here, never from each other."""
