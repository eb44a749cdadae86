# language: nl
# Gegenereerd door scripts/make_features.py uit fixtures/scenarios/dva/*.json: niet met de hand bewerken.
@dva @protocol
Functionaliteit: de DVA volgt het MedMij-protocol (OAuth, TLS, lijsten)
  De straat beproeft de autorisatieserver en de FHIR-server van de te keuren DVA zoals een (kwaadwillende)
  PGO dat zou doen; dezelfde checks als de pytest-suite (suites/dva) beoordelen de antwoorden.

  Abstract Scenario: <scenario> — <titel>
    Gegeven de straat met de te keuren DVA
    Als de PGO scenario "<scenario>" uitvoert
    Dan keurt de straat het goed

    @oauth
    Voorbeelden: oauth
      | scenario                 | titel                                                                                                                       |
      | OAUTH-code-reuse         | A good authorization returns the state with the code; the code gives a token once, in time, and a replay gets invalid_grant |
      | OAUTH-response-type      | response_type=token gets an unsupported_response_type error redirect carrying the original state                            |
      | OAUTH-redirect-uri       | A redirect_uri on another host, over http, or with a fragment is never redirected to                                        |
      | OAUTH-scope-grammar      | A bare GegevensdienstId, another provider, or two providers in the scope get invalid_scope with the state                   |
      | OAUTH-token-redirect-uri | A token request without the redirect_uri, or with another, gets no token, and the code stays spent                          |
      | OAUTH-resource-token     | An MP9 search without a token, or with a token the DVA never issued, gets 401 and an OperationOutcome                       |

    @lists
    Voorbeelden: lists
      | scenario             | titel                                                                                                               |
      | LISTS-unknown-client | A client_id not on the OCL, or none at all, gets an error page: no authorization, no redirect                       |
      | LISTS-ocl-service    | A client the OCL lists for another GegevensdienstId gets invalid_scope; taken off the OCL, it gets no authorization |

    @tls
    Voorbeelden: tls
      | scenario        | titel                                                                                               |
      | TLS-versions    | The token and resource endpoints refuse TLS 1.0 and 1.1 and accept TLS 1.2 and 1.3                  |
      | TLS-client-cert | No client certificate, a rogue-CA or an expired one: the token and resource endpoints serve nothing |
      | TLS-whitelist   | A valid certificate for a host not on the Whitelist: the token and resource endpoints serve nothing |
