"""People's sign-in at the gateway (OAuth2 authorization code with PKCE; the portal is its client), and the
throttling of failed authentications it shares with the token endpoint. `views.setup_signin` wires it."""
