-- mx.callback: placeholder until its issue lands.
return {}
