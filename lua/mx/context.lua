-- mx.context: placeholder until its issue lands.
return {}
