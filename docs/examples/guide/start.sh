mkdir -p tuneport-acme/src/tuneport_acme tuneport-acme/tests
cd tuneport-acme
