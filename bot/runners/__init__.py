"""How updates reach the Dispatcher: long polling, or a webhook server; both feed the inlet."""
