-- mx.operator: placeholder until its issue lands.
return {}
