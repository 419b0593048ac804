pytest_plugins = ["govdata_local.pytest_plugin"]
