-- mx.metric: placeholder until its issue lands.
return {}
