-- mx.test_utils: placeholder until its issue lands.
return {}
