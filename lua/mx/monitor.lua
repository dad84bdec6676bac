-- mx.monitor: placeholder until its issue lands.
return {}
